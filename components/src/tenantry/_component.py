"""What the three components share: their type token, their args validated into a spec
before anything is registered, and their annotated outputs registered at the end."""

import inspect
from collections.abc import Callable
from typing import TypeVar

import pulumi

from tenantry import validation

Options = pulumi.ResourceOptions | None
ArgsT = TypeVar("ArgsT")
SpecT = TypeVar("SpecT")


class Component(pulumi.ComponentResource):
    """Base of TenantPolicy, VirtualCluster and VirtualNode. Each keeps its own `__init__`:
    Pulumi's analyzer reads the schema's inputs from that method's `args` annotation."""

    def _start(self, name: str, opts: Options) -> None:
        """Register the component itself as `tenantry:index:<class name>`, its schema token."""
        super().__init__(f"tenantry:index:{type(self).__name__}", name, None, opts)

    def _validate(
        self,
        name: str,
        args_type: type[ArgsT],
        args: ArgsT,
        resolve: Callable[[str, ArgsT], SpecT],
        opts: Options,
    ) -> SpecT:
        """``args`` resolved into the spec (a TenantryInputError before anything is
        registered), then the component registered."""
        component = type(self).__name__
        spec = validation.validate(component, name, args_type, args, lambda a: resolve(name, a))
        self._start(name, opts)
        return spec

    def _finish(self) -> None:
        """Register the outputs: the annotated attributes, the very list the schema has."""
        outputs = inspect.get_annotations(type(self))
        self.register_outputs({key: getattr(self, key) for key in outputs})
