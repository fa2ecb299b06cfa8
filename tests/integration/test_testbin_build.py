"""hack/testbin/build.sh finds a module's source on a fresh machine, whose module cache is empty.

`go list -m -f {{.Dir}}` prints nothing for a module that is not downloaded yet; the build read
that empty path and failed with "no schema.json in" on every fresh machine, while warm caches
hid it. The control test keeps the old lookup, to show that an empty cache really defeats it.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenantry_local.testbin import REPO

from tests.support.testbin import unavailable

BUILD = REPO / "hack" / "testbin" / "build.sh"


def go() -> str:
    path = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(path, os.X_OK):
        unavailable("go is not installed")
    return path


@pytest.fixture
def empty_module_cache(tmp_path: Path) -> Iterator[dict[str, str]]:
    cache = tmp_path / "gomodcache"
    env = {**os.environ, "GO": go(), "GOMODCACHE": str(cache), "GOFLAGS": "-modcacherw"}
    yield env
    # The module cache is read-only unless -modcacherw; clean it the go way regardless.
    subprocess.run([env["GO"], "clean", "-modcache"], env=env, check=False, capture_output=True)


@pytest.mark.parametrize(
    ("binary", "marker"),
    [
        ("pulumi-resource-kubernetes", "cmd/pulumi-resource-kubernetes/schema.json"),
        ("kwok", "kustomize/stage/pod/fast/pod-ready.yaml"),
    ],
)
def test_source_is_found_in_an_empty_module_cache(
    empty_module_cache: dict[str, str], binary: str, marker: str
) -> None:
    out = subprocess.run(
        ["bash", str(BUILD), "--source", binary],
        env=empty_module_cache,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    source = Path(out.stdout.strip())
    assert source.is_relative_to(empty_module_cache["GOMODCACHE"]), source
    assert (source / marker).is_file(), f"{source} has no {marker}"


def test_control_go_list_alone_finds_nothing_in_an_empty_module_cache(
    empty_module_cache: dict[str, str],
) -> None:
    """The lookup the build used before: it cannot see a module that is not downloaded."""
    out = subprocess.run(
        [empty_module_cache["GO"], "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"],
        cwd=REPO / "hack" / "testbin" / "kwok",
        env={**empty_module_cache, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.stdout.strip() == "", out.stdout


def test_a_missing_binary_name_is_one_clear_error(empty_module_cache: dict[str, str]) -> None:
    out = subprocess.run(
        ["bash", str(BUILD), "--source", "kube-nothing"],
        env=empty_module_cache,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode != 0
    assert "unknown binary 'kube-nothing'" in out.stderr


def test_a_module_that_cannot_be_downloaded_is_named_with_the_command(
    empty_module_cache: dict[str, str],
) -> None:
    out = subprocess.run(
        ["bash", str(BUILD), "--source", "kwok"],
        env={**empty_module_cache, "GOPROXY": "off"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode != 0
    assert "go mod download -json sigs.k8s.io/kwok` failed" in out.stderr, out.stderr
    assert "kwok: cannot locate module sigs.k8s.io/kwok" in out.stderr, out.stderr
    assert out.stdout == ""


def test_a_failed_build_step_names_the_binary_the_command_and_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "etcd.log"
    step = f'logged "build.sh: etcd" {log} {tmp_path} sh -c "echo boom; exit 3"'
    script = f"source {REPO}/hack/lib/build.sh; {step}"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert out.returncode == 3
    assert "build.sh: etcd: FAILED (exit 3): cd " in out.stderr, out.stderr
    assert "sh -c echo\\ boom\\;\\ exit\\ 3" in out.stderr, out.stderr
    assert f"whole log: {log}" in out.stderr
    assert "  | boom" in out.stderr
    assert log.read_text() == "boom\n"
