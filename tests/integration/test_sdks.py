"""sdk/ is what `pulumi package gen-sdk` makes of provider/schema.json, and the TypeScript and Go
SDKs compile (the TypeScript one with the pinned tsc of hack/tsc, the Go one with go build)."""

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

from tenantry_local.testbin import REPO, TESTBIN, versions

from tests.support.testbin import unavailable
from tests.support.typescript import TSC, consumer_node_modules

SDK = REPO / "sdk"
LANGUAGES = ("nodejs", "python", "go", "dotnet")


def need(path: Path | None, what: str, build: str) -> Path:
    """``path`` if it exists; else fail in CI and skip elsewhere, naming the command."""
    if path is None or not path.exists():
        unavailable(f"{what} is missing: run `{build}`")
    return path


def go() -> Path:
    found = shutil.which("go") or "/usr/local/go/bin/go"
    return need(Path(found), "go", "install Go >= 1.25")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, "GOTOOLCHAIN": "local", **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_committed_sdks_match_a_fresh_generation(tmp_path: Path) -> None:
    need(TESTBIN / "pulumi", "the pulumi CLI", "make testbin")
    for lang in LANGUAGES:
        need(
            TESTBIN / "codegen" / f"pulumi-language-{lang}", f"the {lang} generator", "make sdkgen"
        )
    go()
    done = run(["bash", str(REPO / "hack" / "sdkgen" / "gen.sh"), str(tmp_path)], REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    stale = []
    for lang in LANGUAGES:
        committed, fresh = tree(SDK / lang), tree(tmp_path / lang)
        stale += [f"{lang}/{f} (only in sdk/)" for f in committed - fresh]
        stale += [f"{lang}/{f} (not committed)" for f in fresh - committed]
        stale += [
            f"{lang}/{f} (differs)"
            for f in committed & fresh
            if not filecmp.cmp(SDK / lang / f, tmp_path / lang / f, shallow=False)
        ]
    assert not stale, "sdk/ is stale: run `make sdk` and commit the result:\n" + "\n".join(stale)


def test_typescript_sdk_compiles_with_tsc(tmp_path: Path) -> None:
    tsc = need(TSC, "tsc", "make tsc")
    # The SDK resolves @pulumi/pulumi from a node_modules beside it, as it would once installed.
    shutil.copytree(SDK / "nodejs", tmp_path / "nodejs")
    (tmp_path / "node_modules").symlink_to(tsc.parents[1])
    done = run(
        [str(tsc), "-p", "tsconfig.json", "--outDir", str(tmp_path / "bin")], tmp_path / "nodejs"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    declarations = (tmp_path / "bin" / "index.d.ts").read_text()
    for component in ("TenantPolicy", "VirtualCluster", "VirtualNode"):
        assert component in declarations


def test_go_sdk_requires_the_pinned_pulumi_sdk_and_builds() -> None:
    pin = versions()["PULUMI_VERSION"]
    assert f"github.com/pulumi/pulumi/sdk/v3 {pin}\n" in (SDK / "go" / "go.mod").read_text()
    done = run([str(go()), "build", "./..."], SDK / "go", GOFLAGS="-mod=readonly")
    assert done.returncode == 0, done.stdout + done.stderr


def test_typescript_consumer_compiles_against_the_generated_sdk(tmp_path: Path) -> None:
    # examples/typescript as `npm install` would lay it out: the pinned toolchain's packages,
    # plus @pulumi/tenantry built from sdk/nodejs.
    tsc = need(TSC, "tsc", "make tsc")
    consumer_node_modules(tmp_path, tsc)
    app = tmp_path / "app"
    app.mkdir()
    for name in ("index.ts", "tsconfig.json", "package.json"):
        shutil.copy(REPO / "examples" / "typescript" / name, app / name)
    done = run([str(tsc), "-p", "tsconfig.json"], app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (app / "bin" / "index.js").is_file()
