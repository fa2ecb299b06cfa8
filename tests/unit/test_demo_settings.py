"""`make demo`'s quickstart config for the two targets, and its refusal of a mirror locally."""

import pytest
from tenantry_local import demo
from tenantry_local.demo_stack import remote_settings


def test_another_cluster_takes_the_mirror_when_one_is_named() -> None:
    assert remote_settings("mirror.example:5000") == {
        "readKubeconfig": "true",
        "imageRegistry": "mirror.example:5000",
    }
    # The control: no mirror, no imageRegistry (the images' own registries).
    assert remote_settings(None) == {"readKubeconfig": "true"}


def test_a_mirror_for_the_local_cluster_is_refused_before_anything_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TENANTRY_KUBECONFIG", raising=False)
    monkeypatch.setenv("TENANTRY_IMAGE_REGISTRY", "mirror.example:5000")
    built: list[str] = []
    monkeypatch.setattr(demo, "build_all", lambda: built.append("images"))
    with pytest.raises(SystemExit, match="TENANTRY_IMAGE_REGISTRY is for a cluster of"):
        demo.main([])
    assert built == []
