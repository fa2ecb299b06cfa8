"""Run components under Pulumi mocks and record every registration, with its parent."""

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    provider: str = ""
    """Provider reference (``urn::id``) of a custom resource; empty for components."""


MOCK_KUBECONFIG = "apiVersion: v1\nkind: Config\n# read back under mocks\n"


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id and args.typ == "kubernetes:core/v1:Secret":
            # A read of the tenant kubeconfig Secret that the init container wrote.
            encoded = base64.b64encode(MOCK_KUBECONFIG.encode()).decode()
            return args.resource_id, {"data": {"config": encoded}}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, resource_mocks: pulumi.runtime.Mocks | None = None) -> None:
        super().__init__(resource_mocks or _Mocks())
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response, request.object, custom=request.custom)
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, response, request.properties, custom=True)
        return response

    def _record(self, request: Any, response: Any, properties: Any, *, custom: bool) -> None:
        self.registered.append(
            Registered(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                custom=custom,
                inputs=pulumi.runtime.rpc.deserialize_properties(properties),
                provider=request.provider,
            )
        )


@dataclass
class Deployment:
    resources: list[Registered]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, (
            f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        )
        return found[0]

    def component(self, type_: str) -> Registered:
        return self.one(type_)

    def children_of(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def kinds(self, parent: Registered) -> list[str]:
        return sorted(r.type for r in self.children_of(parent))


Program = Callable[[], object]
"""A Pulumi program; when it returns a dict of outputs, they are resolved for the test."""


def _run(
    program: Program, monitor: _RecordingMonitor, result: dict[str, Any], project: str = "project"
) -> None:
    pulumi.runtime.set_mocks(_Mocks(), project=project, monitor=monitor, preview=True)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> pulumi.Output[Any]:
        returned = program()
        outputs = returned if isinstance(returned, dict) else {}
        return pulumi.Output.all(**outputs).apply(result.update)

    run()


def deploy(
    program: Program, resource_mocks: pulumi.runtime.Mocks | None = None, project: str = "project"
) -> Deployment:
    """Run ``program`` under mocks (as a preview); returns what it registered and its outputs.
    ``resource_mocks`` answers for resources and calls (default: Kubernetes objects echo their
    inputs, the kubeconfig Secret reads back); ``project`` is the Pulumi project's name."""
    monitor = _RecordingMonitor(resource_mocks)
    result: dict[str, Any] = {}
    _run(program, monitor, result, project)
    return Deployment(resources=list(monitor.registered), outputs=result)


def deploy_failing(
    program: Program, resource_mocks: pulumi.runtime.Mocks | None = None, project: str = "project"
) -> tuple[BaseException, list[Registered]]:
    """Run a ``program`` that must fail; returns the error and whatever was registered."""
    monitor = _RecordingMonitor(resource_mocks)
    try:
        _run(program, monitor, {}, project)
    except Exception as e:
        return e, list(monitor.registered)
    raise AssertionError("the program did not fail")
