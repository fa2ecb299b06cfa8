"""Leader election on a real Lease: two replicas never both lead."""

import time

from kubernetes.dynamic import DynamicClient
from tenantry_local.cluster import LocalCluster
from tenantry_syncer.controller.leader import LeaderElector
from tenantry_syncer.kube import api_client_from


def test_only_one_replica_leads_until_its_lease_expires(cluster: LocalCluster) -> None:
    leases = DynamicClient(api_client_from(cluster.kubeconfig)).resources.get(  # type: ignore[no-untyped-call]
        api_version="coordination.k8s.io/v1", kind="Lease"
    )
    first = LeaderElector(leases, "default", "election-test", "replica-a", duration=2)
    second = LeaderElector(leases, "default", "election-test", "replica-b", duration=2)
    assert first.try_acquire_or_renew()
    assert not second.try_acquire_or_renew()
    assert first.try_acquire_or_renew()  # renewing its own lease
    time.sleep(2.5)  # replica-a stops renewing (crashed)
    assert second.try_acquire_or_renew()
    assert not first.try_acquire_or_renew()
    lease = leases.get(name="election-test", namespace="default").to_dict()
    assert lease["spec"]["holderIdentity"] == "replica-b"
    assert lease["spec"]["leaseTransitions"] == 1
