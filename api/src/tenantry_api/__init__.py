"""Tenantry's contract: what the components, the syncer and the node agent agree on."""

from tenantry_api import config, keys, naming, runtimes, sandbox

__all__ = ["config", "keys", "naming", "runtimes", "sandbox"]
