"""A CRI client for the node tier: run a pod sandbox and a container the way the kubelet
does, through the CRI v1 stubs generated from k8s.io/cri-api."""

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
from tenantry_node_agent.cri_v1 import api_pb2 as cri
from tenantry_node_agent.cri_v1 import api_pb2_grpc as cri_grpc


@dataclass(frozen=True)
class Finished:
    exit_code: int
    output: str


class CriClient:
    def __init__(self, socket: Path, logs: Path) -> None:
        self._channel = grpc.insecure_channel(f"unix://{socket}")
        self.runtime = cri_grpc.RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self._channel.close()

    def start_pod(self, name: str, handler: str = "", timeout: float = 60) -> str:
        """A pod sandbox alone (its pause process), as a node's idle pods are."""
        config = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=name, namespace="tenant", uid=name, attempt=0),
            log_directory=str(self.logs / name),
        )
        request = cri.RunPodSandboxRequest(config=config, runtime_handler=handler)
        return str(self.runtime.RunPodSandbox(request, timeout=timeout).pod_sandbox_id)

    def run(
        self,
        command: list[str],
        image: str,
        handler: str = "",
        *,
        privileged: bool = False,
        host_pid: bool = False,
        host_ipc: bool = False,
        sysctls: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Finished:
        """Run ``command`` in a fresh pod sandbox under ``handler`` ('' = the default runtime);
        wait for it to exit and return its exit code and output. The pod is removed after."""
        name = f"t-{uuid.uuid4().hex[:8]}"
        namespaces = cri.NamespaceOption(
            pid=cri.NODE if host_pid else cri.POD,
            network=cri.POD,
            ipc=cri.NODE if host_ipc else cri.POD,
        )
        pod_config = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name=name, namespace="tenant", uid=name, attempt=0),
            log_directory=str(self.logs / name),
            linux=cri.LinuxPodSandboxConfig(
                security_context=cri.LinuxSandboxSecurityContext(
                    privileged=privileged, namespace_options=namespaces
                ),
                sysctls=sysctls or {},
            ),
        )
        pod = self.runtime.RunPodSandbox(
            cri.RunPodSandboxRequest(config=pod_config, runtime_handler=handler), timeout=timeout
        ).pod_sandbox_id
        try:
            container = self.runtime.CreateContainer(
                cri.CreateContainerRequest(
                    pod_sandbox_id=pod,
                    sandbox_config=pod_config,
                    config=cri.ContainerConfig(
                        metadata=cri.ContainerMetadata(name="main"),
                        image=cri.ImageSpec(image=image),
                        command=command,
                        log_path="main.log",
                        linux=cri.LinuxContainerConfig(
                            security_context=cri.LinuxContainerSecurityContext(
                                privileged=privileged, namespace_options=namespaces
                            )
                        ),
                    ),
                ),
                timeout=timeout,
            ).container_id
            self.runtime.StartContainer(
                cri.StartContainerRequest(container_id=container), timeout=timeout
            )
            deadline = time.monotonic() + timeout
            while True:
                status = self.runtime.ContainerStatus(
                    cri.ContainerStatusRequest(container_id=container), timeout=timeout
                ).status
                if status.state == cri.CONTAINER_EXITED:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"container {command} still running after {timeout}s")
                time.sleep(0.2)
            return Finished(status.exit_code, cri_log_text(self.logs / name / "main.log"))
        finally:
            self.runtime.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=60)
            self.runtime.RemovePodSandbox(
                cri.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=60
            )


def cri_log_text(path: Path) -> str:
    # CRI log lines are "<time> <stream> <tag> <text>".
    if not path.exists():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(line.split(" ", 3)[3] if line.count(" ") >= 3 else "" for line in lines)


def remove_all_pods(socket: Path, timeout: float = 60) -> None:
    """Stop and remove every pod sandbox of the containerd at ``socket``."""
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        for pod in runtime.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=timeout).items:
            runtime.StopPodSandbox(
                cri.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=timeout
            )
            runtime.RemovePodSandbox(
                cri.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=timeout
            )
