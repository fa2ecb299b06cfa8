"""Run a command in a locally built image with runc, as a pod's container would run: the
image's root filesystem read-only, a given uid, no capabilities beyond ``capabilities``."""

import json
import subprocess
import uuid
from pathlib import Path

from tenantry_local.imagebuild import Tools

RUNC = "/usr/bin/runc"


def run_in_image(
    tools: Tools,
    reference: str,
    argv: list[str],
    bundle: Path,
    *,
    user: tuple[int, int] | None = None,
    capabilities: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``argv`` in ``reference`` (PATH and the rest of the environment from the image's
    config, like a kubelet's ``command:``); ``user`` defaults to the image's."""
    info = tools.inspect(reference)
    assert info is not None, f"{reference} is not built"
    config = info["OCIv1"]["config"]
    container = tools.buildah("run: from", "from", "--pull=never", reference)
    try:
        rootfs = tools.buildah("run: mount", "mount", container)
        bundle.mkdir(parents=True, exist_ok=True)
        spec_file = bundle / "config.json"
        spec_file.unlink(missing_ok=True)
        subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True)
        spec = json.loads(spec_file.read_text())
        uid, gid = user if user is not None else _image_user(config.get("User", ""))
        caps = [f"CAP_{c}" for c in capabilities]
        spec["root"] = {"path": rootfs, "readonly": True}
        spec["process"].update(
            terminal=False,
            args=argv,
            env=config.get("Env", []),
            cwd=config.get("WorkingDir") or "/",
            user={"uid": uid, "gid": gid},
            capabilities={
                **dict.fromkeys(("bounding", "effective", "permitted", "inheritable"), caps),
                "ambient": [],
            },
            noNewPrivileges=True,
        )
        spec_file.write_text(json.dumps(spec))
        return subprocess.run(
            [RUNC, "run", "--bundle", str(bundle), f"tenantry-test-{uuid.uuid4().hex[:8]}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        tools.buildah("run: umount", "umount", container)
        tools.buildah("run: rm", "rm", container)


def _image_user(user: str) -> tuple[int, int]:
    uid, _, gid = (user or "0").partition(":")
    return int(uid), int(gid or 0)
