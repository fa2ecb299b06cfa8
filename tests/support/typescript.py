"""examples/typescript's `node_modules`, laid out as `npm install` would make it: the pinned
toolchain of hack/tsc (`make tsc`: typescript, @pulumi/pulumi, @types/node and their
dependencies), plus @pulumi/tenantry compiled from sdk/nodejs with that tsc."""

import json
import shutil
import subprocess
from pathlib import Path

from tenantry_local.testbin import REPO

TSC = REPO / "hack" / "tsc" / "node_modules" / ".bin" / "tsc"


def consumer_node_modules(root: Path, tsc: Path = TSC) -> Path:
    """Makes ``root``/node_modules (symlinks into hack/tsc, and @pulumi/tenantry built in
    ``root``/sdk) and returns it. Node.js follows the symlinks to their real paths, so the
    program and the SDK load the same @pulumi/pulumi."""
    toolchain = tsc.parents[1]
    modules = root / "node_modules"
    (modules / "@pulumi").mkdir(parents=True)
    for entry in toolchain.iterdir():
        if entry.name != "@pulumi":
            (modules / entry.name).symlink_to(entry)
    for entry in (toolchain / "@pulumi").iterdir():
        (modules / "@pulumi" / entry.name).symlink_to(entry)
    package = modules / "@pulumi" / "tenantry"
    sdk = root / "sdk"
    shutil.copytree(REPO / "sdk" / "nodejs", sdk)
    done = subprocess.run(
        [str(tsc), "-p", "tsconfig.json", "--outDir", str(package)],
        cwd=sdk,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The SDK's own package.json (its version is the one it asks the engine for), pointing at
    # the compiled files.
    manifest = json.loads((sdk / "package.json").read_text())
    manifest.update(main="index.js", types="index.d.ts")
    (package / "package.json").write_text(json.dumps(manifest, indent=4) + "\n")
    return modules
