"""Connections to the API servers: the host in-cluster by default, or through a kubeconfig."""

from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException


def api_client_from(kubeconfig: Path) -> client.ApiClient:
    """A client for the cluster ``kubeconfig`` names; never the process-wide default."""
    configuration = client.Configuration()
    config.load_kube_config(str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def host_api(kubeconfig: Path | None = None) -> client.ApiClient:
    """The host cluster: ``kubeconfig`` when given, else the pod's in-cluster credentials."""
    if kubeconfig is not None:
        return api_client_from(kubeconfig)
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


def replace_or_create(replace: Callable[[], object], create: Callable[[], object]) -> None:
    """Writes a whole object: ``replace`` it, or ``create`` it when it does not exist yet."""
    try:
        replace()
    except ApiException as e:
        if e.status != 404:
            raise
        create()
