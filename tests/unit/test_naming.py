"""Property tests of the host-name translation (api/naming)."""

import random
import re

from hypothesis import given
from hypothesis import strategies as st
from tenantry_api import keys
from tenantry_api.naming import (
    HASH_LENGTH,
    MAX_LENGTH,
    VirtualRef,
    host_annotations,
    host_labels,
    host_name,
    is_dns1123_label,
    virtual_ref,
)

_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-"
dns_labels = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
# Object names are DNS subdomains: dots allowed, up to 253 characters.
object_names = st.from_regex(r"\A[a-z0-9]([-a-z0-9.]{0,120}[a-z0-9])?\Z")
# Long names that share a prefix force the cut-and-hash path to tell them apart.
shared_prefix_names = st.text(_LABEL_CHARS, min_size=1, max_size=8).map(
    lambda tail: "shared-prefix-" * 5 + tail.strip("-") + "z"
)
triples = st.tuples(
    st.one_of(object_names, shared_prefix_names),
    st.one_of(dns_labels, st.sampled_from(["default", "kube-system", "a-x-b"])),
    st.one_of(dns_labels, st.sampled_from(["vc", "x", "tenant-x-one"])),
)


@given(triples)
def test_host_name_is_a_short_valid_label(triple: tuple[str, str, str]) -> None:
    name = host_name(*triple)
    assert len(name) <= MAX_LENGTH
    assert is_dns1123_label(name), name
    assert host_name(*triple) == name  # deterministic


def random_triples(count: int, seed: int) -> list[tuple[str, str, str]]:
    """``count`` triples drawn like ``triples`` (random labels and object names, long names
    sharing a prefix, names and namespaces holding the ``-x-`` separator), from a fixed seed:
    ten thousand in a fraction of a second, where Hypothesis took most of a minute."""
    rng = random.Random(seed)

    def label(chars: str, longest: int) -> str:
        edge = "abcdefghijklmnopqrstuvwxyz0123456789"
        middle = "".join(rng.choice(chars) for _ in range(rng.randint(0, longest)))
        return rng.choice(edge) + (middle + rng.choice(edge) if middle else "")

    def name() -> str:
        kind = rng.random()
        if kind < 0.2:
            return "shared-prefix-" * 5 + label(_LABEL_CHARS, 6) + "z"
        if kind < 0.3:
            return f"{label(_LABEL_CHARS, 4)}-x-{label(_LABEL_CHARS, 4)}"
        return label(_LABEL_CHARS + ".", rng.choice([3, 12, 120]))

    def namespace() -> str:
        return rng.choice(["default", "kube-system", "a-x-b", label(_LABEL_CHARS, 12)])

    def vcluster() -> str:
        return rng.choice(["vc", "x", "tenant-x-one", label(_LABEL_CHARS, 12)])

    return [(name(), namespace(), vcluster()) for _ in range(count)]


def test_no_collisions_over_ten_thousand_triples() -> None:
    seen: dict[str, tuple[str, str, str]] = {}
    for triple in random_triples(10_000, seed=20261203):
        name = host_name(*triple)
        other = seen.setdefault(name, triple)
        assert other == triple, f"{triple} and {other} both map to {name}"
    assert len(seen) >= 9_000  # a few triples repeat; nearly all must be distinct


def test_the_triples_would_catch_a_naming_that_ignores_the_namespace() -> None:
    # The control: a naming that drops the namespace maps distinct triples to one name.
    triples = random_triples(1_000, seed=20261203)
    names = {host_name(t[0], "same", t[2]) for t in triples}
    assert len(names) < len(set(triples))


@given(triples, st.sampled_from(["Pod", "Service", ""]), st.uuids())
def test_annotations_map_back_to_the_virtual_object(
    triple: tuple[str, str, str], kind: str, uid: object
) -> None:
    ref = VirtualRef(*triple, kind=kind, uid=str(uid))
    assert virtual_ref(host_labels(ref), host_annotations(ref)) == ref
    back = virtual_ref(host_labels(ref), host_annotations(ref))
    assert back is not None
    assert host_name(back.name, back.namespace, back.vcluster) == host_name(*triple)


def test_plain_form_is_vclusters() -> None:
    assert host_name("web", "default", "vc1") == "web-x-default-x-vc1"


def test_long_names_are_cut_with_a_stable_hash() -> None:
    name = host_name("a" * 80, "default", "vc1")
    assert len(name) == MAX_LENGTH
    assert re.fullmatch(rf"a{{52}}-[0-9a-f]{{{HASH_LENGTH}}}", name)
    assert name == host_name("a" * 80, "default", "vc1")
    assert name != host_name("a" * 81, "default", "vc1")


def test_dotted_names_are_hashed_not_merged() -> None:
    dotted = host_name("kube-root-ca.crt", "default", "vc1")
    dashed = host_name("kube-root-ca-crt", "default", "vc1")
    assert is_dns1123_label(dotted)
    assert dotted != dashed


def test_separator_in_a_part_cannot_alias_another_triple() -> None:
    assert host_name("a-x-b", "c", "vc") != host_name("a", "b-x-c", "vc")


def test_objects_not_synced_by_tenantry_have_no_virtual_ref() -> None:
    ref = VirtualRef("web", "default", "vc1")
    assert virtual_ref({}, host_annotations(ref)) is None
    assert virtual_ref(host_labels(ref), {}) is None
    assert virtual_ref({keys.MANAGED_BY: "helm"}, host_annotations(ref)) is None
