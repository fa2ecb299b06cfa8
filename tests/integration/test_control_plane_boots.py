"""The VirtualCluster's control plane boots from the very commands and flags it ships.

The StatefulSet is rendered by the component (under mocks); its init container and its
control-plane containers are run as rendered, with only binary paths swapped for .testbin/,
ports remapped on 127.0.0.1, and mount paths mapped into a temporary directory.
"""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from tenantry_local.cluster import LocalCluster
from tenantry_local.kube import Kube

from tests.support.kube import deployment, namespace, wait_for
from tests.support.testbin import require
from tests.support.virtualcluster import (
    ControlPlane,
    Local,
    api_service,
    connect,
    render,
    tenant_kubeconfig,
)

NAMESPACE = "vc-host"


@pytest.fixture(scope="module")
def control_plane(
    cluster: LocalCluster, kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    require("kine", "kube-apiserver", "kube-controller-manager")
    kube.create(namespace(NAMESPACE))
    root = Path(tmp_path_factory.mktemp("vc"))
    plane = ControlPlane(render("vc", NAMESPACE), Local(root), cluster.kubeconfig)
    try:
        yield plane
    finally:
        plane.stop()


def test_the_control_plane_boots_serves_a_tenant_and_survives_a_restart(
    control_plane: ControlPlane, kube: Kube, tmp_path: Path
) -> None:
    # Without its Service the init container fails (and is retried by the kubelet): the
    # serving certificate must name the Service's ClusterIP, where synced pods reach it.
    init = control_plane.rendered.init[0]
    refused = control_plane.run(init)
    assert refused.returncode == 1
    assert f"Service {NAMESPACE}/vc does not exist yet" in refused.stderr
    service = kube.create(api_service("vc", NAMESPACE))
    control_plane.init()
    serving = x509.load_pem_x509_certificate(
        base64.b64decode(kube.get("v1", "Secret", "vc-pki-vc", NAMESPACE)["data"]["apiserver.crt"])
    )
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert ips == {"127.0.0.1", service["spec"]["clusterIP"]}
    pki_before = kube.get("v1", "Secret", "vc-pki-vc", NAMESPACE)["data"]
    control_plane.start()
    kubeconfig = tenant_kubeconfig(kube, control_plane.local, tmp_path, "vc", NAMESPACE)
    tenant = connect(control_plane.local, kubeconfig)

    tenant.create(namespace("shop"))
    tenant.create(deployment("web", "shop", replicas=2))
    # The controller-manager, running with the shipped flags, does its work.
    wait_for(lambda: tenant.list("apps/v1", "ReplicaSet", "shop"), what="ReplicaSet created")
    wait_for(lambda: len(tenant.list("v1", "Pod", "shop")) == 2, what="2 pods created")

    # Restart: the init container runs again and changes nothing; data and certs survive.
    control_plane.stop()
    control_plane.restore_conf_ports()
    second = control_plane.init()
    assert "pki re-issued: nothing" in second
    assert "tenant kubeconfig unchanged" in second
    assert kube.get("v1", "Secret", "vc-pki-vc", NAMESPACE)["data"] == pki_before
    control_plane.start()
    tenant = connect(control_plane.local, kubeconfig)
    assert tenant.get("apps/v1", "Deployment", "web", "shop")["spec"]["replicas"] == 2
