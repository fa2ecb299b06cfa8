"""The quickstart project as a stack of the real engine, through the Automation API."""

from pathlib import Path

from pulumi import automation as auto
from tenantry_local.quickstart import engine_env, project_copy
from tenantry_local.testbin import binary


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
