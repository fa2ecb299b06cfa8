"""Connections to the host cluster: in-cluster by default, a kubeconfig when given."""

from pathlib import Path

from kubernetes import client, config


def host_api(kubeconfig: Path | None = None) -> client.ApiClient:
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)
