"""docs/ stays true: every flag the control plane ships is explained."""

from dataclasses import replace
from pathlib import Path

import pytest
from tenantry import control_plane
from tenantry.control_plane import ControlPlane

DOC = Path(__file__).parents[2] / "docs" / "virtual-cluster.md"
CP = ControlPlane(
    name="vc",
    kubernetes_version="v1.34.10",
    service_cidr="10.96.0.0/12",
    store="sqlite",
    api_server_image="a",
    controller_manager_image="c",
    kine_image="k",
    etcd_image="e",
    syncer_image="s",
)


def flags() -> set[str]:
    rendered = [
        *control_plane.api_server_args(CP),
        *control_plane.controller_manager_args(CP),
        *control_plane.store_container(CP)["args"],
        *control_plane.store_container(replace(CP, store="etcd"))["args"],
    ]
    return {arg.split("=", 1)[0] for arg in rendered}


@pytest.mark.parametrize("flag", sorted(flags()))
def test_every_rendered_flag_is_explained(flag: str) -> None:
    assert f"`{flag}" in DOC.read_text(), f"{flag} is not explained in docs/virtual-cluster.md"
