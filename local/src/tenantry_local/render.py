"""`make render STACK=<stack>`: the manifests of a quickstart stack, for Argo CD or Flux.

    python -m tenantry_local.render STACK [OUT]       OUT defaults to rendered/<STACK>

The quickstart project (Pulumi.yaml, __main__.py) runs `pulumi up` with the kubernetes
provider's render mode (its `renderYamlTo` config): every object is written as plain YAML under
OUT (`0-crd/`, `1-manifests/`) and nothing is applied, so no cluster is needed. The stack's own
config file (Pulumi.<STACK>.yaml beside Pulumi.yaml), when there is one, is used as is. The run
happens in a copy of the project with a throwaway state backend, so neither the repository nor
a deployed stack's state is touched. Engine, Python language host and kubernetes provider come
from `.testbin/` (`make testbin`).
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from tenantry_local.quickstart import PROJECT_DIR, engine_env
from tenantry_local.testbin import REPO, binary

DEFAULT_OUT = REPO / "rendered"


def render(stack: str, out: Path) -> list[Path]:
    """Render ``stack`` of the quickstart into ``out`` (emptied first); returns the files."""
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory(prefix="tenantry-render-") as tmp:
        work = Path(tmp) / "project"
        work.mkdir()
        shutil.copy(PROJECT_DIR / "__main__.py", work / "__main__.py")
        project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
        (work / "Pulumi.yaml").write_text(yaml.safe_dump(project))
        stack_config = PROJECT_DIR / f"Pulumi.{stack}.yaml"
        if stack_config.is_file():
            shutil.copy(stack_config, work / stack_config.name)
        (Path(tmp) / "state").mkdir()
        env = engine_env(Path(tmp) / "home", None, f"file://{tmp}/state")

        def pulumi(*args: str) -> None:
            subprocess.run(
                [str(binary("pulumi")), *args, "--non-interactive"], cwd=work, env=env, check=True
            )

        pulumi("stack", "init", stack)
        pulumi("config", "set", "renderYamlTo", str(out))
        pulumi("up", "--yes", "--skip-preview")
    return sorted(out.rglob("*.yaml"))


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        sys.exit("usage: python -m tenantry_local.render STACK [OUT]")
    stack = argv[0]
    out = Path(argv[1]) if len(argv) == 2 else DEFAULT_OUT / stack
    files = render(stack, out)
    print(f"rendered {len(files)} manifests of stack {stack} into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
