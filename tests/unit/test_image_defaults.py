"""The components' default upstream images carry the versions the tests run: the pins of
hack/testbin/versions.env, which `make images` builds them from."""

from tenantry import _meta
from tenantry_local.testbin import versions


def test_the_default_image_versions_are_the_tested_pins() -> None:
    pins = versions()
    defaults = {
        "KUBERNETES_VERSION": _meta.KUBERNETES_VERSION,
        "KINE_VERSION": _meta.KINE_VERSION,
        "ETCD_VERSION": _meta.ETCD_VERSION,
        "COREDNS_VERSION": _meta.COREDNS_VERSION,
    }
    assert defaults == {key: pins[key] for key in defaults}


def test_the_default_references_are_tagged_with_those_versions() -> None:
    pins = versions()
    assert _meta.kubernetes_image("kube-apiserver").endswith(f":{pins['KUBERNETES_VERSION']}")
    want = {
        "kine": f"docker.io/rancher/kine:{pins['KINE_VERSION']}",
        "etcd": f"registry.k8s.io/etcd:{pins['ETCD_VERSION'][1:]}-0",
        "coredns": f"registry.k8s.io/coredns/coredns:{pins['COREDNS_VERSION']}",
    }
    got = {"kine": _meta.KINE_IMAGE, "etcd": _meta.ETCD_IMAGE, "coredns": _meta.COREDNS_IMAGE}
    assert got == want
