"""What can be checked of the images without a container engine: each Dockerfile's install
step, replayed from the Dockerfile's own text, gives an environment whose entry point runs
and which holds none of the Pulumi side (images carry only what they run)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = {"syncer": "tenantry-syncer", "node-agent": "tenantry-node-agent"}


def install_step(dockerfile: Path) -> str:
    match = re.search(
        r"^(?:RUN )?\s*(UV_PROJECT_ENVIRONMENT=/opt/venv uv sync .*)$", dockerfile.read_text(), re.M
    )
    assert match, f"{dockerfile}: no `uv sync` install step"
    return match.group(1)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_image_install_step_gives_a_runnable_entry_point_without_pulumi(
    image: str, tmp_path: Path
) -> None:
    dockerfile = ROOT / image / "Dockerfile"
    text = dockerfile.read_text()
    assert re.search(r"^USER 65532:65532$", text, re.M), "the image runs as non-root"
    assert f'ENTRYPOINT ["{IMAGES[image]}"]' in text
    venv = tmp_path / "venv"
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")  # as the Makefile finds it
    command = (
        install_step(dockerfile).replace("/opt/venv", str(venv), 1).replace(" uv ", f" {uv} ", 1)
    )
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, check=True, capture_output=True)
    entry = venv / "bin" / IMAGES[image]
    shown = subprocess.run([entry, "--help"], capture_output=True, text=True, check=True)
    assert "usage" in shown.stdout
    installed = subprocess.run(
        [venv / "bin" / "python", "-c", "import importlib.util as u; print(u.find_spec('pulumi'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed.stdout.strip() == "None"
