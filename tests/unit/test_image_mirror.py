"""A registry mirror for every default image: the pure rewrite, and the quickstart's
imageRegistry config (what `make demo` sets from TENANTRY_IMAGE_REGISTRY)."""

from typing import Any

import pytest
from tenantry import mirrored, mirrored_images

from tests.support.example_runs import Run, run

MIRROR = "mirror.example:5000"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ghcr.io/tenantry/syncer:1.0", f"{MIRROR}/tenantry/syncer:1.0"),
        ("registry.k8s.io/coredns/coredns:v1.12.1", f"{MIRROR}/coredns/coredns:v1.12.1"),
        ("docker.io/rancher/kine:v0.17.5", f"{MIRROR}/rancher/kine:v0.17.5"),
        ("rancher/kine:v0.17.5", f"{MIRROR}/rancher/kine:v0.17.5"),
        ("busybox:1.35.0", f"{MIRROR}/library/busybox:1.35.0"),
        ("localhost/x:1", f"{MIRROR}/x:1"),
        ("127.0.0.1:5000/a/b@sha256:" + "0" * 64, f"{MIRROR}/a/b@sha256:" + "0" * 64),
    ],
)
def test_the_mirror_keeps_the_path_and_tag(image: str, expected: str) -> None:
    assert mirrored(image, MIRROR) == expected


def test_a_path_prefix_on_the_mirror_goes_in_front() -> None:
    assert mirrored("ghcr.io/tenantry/syncer:1", "harbor.corp/cache") == (
        "harbor.corp/cache/tenantry/syncer:1"
    )


@pytest.mark.parametrize(
    "registry", ["https://mirror.example", "mirror.example/", "Mirror.Example", "", "m:port"]
)
def test_a_registry_that_is_no_host_is_refused(registry: str) -> None:
    with pytest.raises(ValueError, match="is not a registry: give host"):
        mirrored("ghcr.io/tenantry/syncer:1", registry)


def images_of(d: Run) -> set[str]:
    """Every container image of every pod template the run registered."""
    found: set[str] = set()
    for r in d.kubernetes_objects():
        spec: dict[str, Any] = r["inputs"].get("spec") or {}
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template", {}
        )
        pod = template.get("spec", {})
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            found.add(c["image"])
    return found


def test_the_quickstart_pulls_every_image_from_the_mirror() -> None:
    d = run("quickstart", f"imageRegistry={MIRROR}")
    assert d.error is None, d.error
    images = images_of(d)
    cluster_images, agent_image = mirrored_images(MIRROR)
    # The syncer, the control plane, the tenant's CoreDNS's image as an input, and the agent.
    assert agent_image in images
    assert cluster_images["syncer"] in images
    assert cluster_images["api_server"] in images
    assert cluster_images["kine"] in images  # the quickstart's store (the default)
    outside = sorted(i for i in images if not i.startswith(f"{MIRROR}/"))
    assert not outside, f"not from the mirror: {outside}"


def test_without_a_mirror_the_images_come_from_their_own_registries() -> None:
    # The control: the same check finds images outside the mirror.
    d = run("quickstart")
    assert d.error is None, d.error
    assert images_of(d)
    assert not [i for i in images_of(d) if i.startswith(f"{MIRROR}/")]


def test_a_bad_mirror_fails_naming_the_config_and_deploys_nothing() -> None:
    d = run("quickstart", "imageRegistry=https://mirror.example")
    assert d.error is not None
    assert "config imageRegistry: 'https://mirror.example' is not a registry" in d.error
    assert d.kubernetes_objects() == []
