"""The quickstart project as a stack of the real engine, through the Automation API."""

import shutil
from pathlib import Path

import yaml
from pulumi import automation as auto
from tenantry_local.quickstart import PROJECT_DIR, engine_env
from tenantry_local.testbin import REPO, binary


def project_copy(dest: Path) -> Path:
    """The quickstart project in ``dest``, so stack files land there and not in the repo; its
    virtualenv option points back at the workspace virtualenv."""
    dest.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "__main__.py", dest / "__main__.py")
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
    (dest / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    return dest


def stack_in(tmp: Path, kubeconfig: Path | None, name: str, config: dict[str, str]) -> auto.Stack:
    env = engine_env(tmp / "home", kubeconfig, f"file://{tmp / 'state'}")
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    # PulumiCommand runs <root>/bin/pulumi: link the built CLI there. The engine resolves the
    # link, so it finds the language host next to the real binary in .testbin/.
    (tmp / "cli" / "bin").mkdir(parents=True)
    (tmp / "cli" / "bin" / "pulumi").symlink_to(binary("pulumi"))
    workspace = auto.LocalWorkspace(
        work_dir=str(project_copy(tmp / "project")),
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(tmp / "cli"), skip_version_check=True),
    )
    stack = auto.Stack.create_or_select(name, workspace)
    stack.set_all_config({key: auto.ConfigValue(value) for key, value in config.items()})
    return stack
