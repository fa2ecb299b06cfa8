"""Tenantry node agent: installs, verifies and removes a sandboxed containerd runtime handler."""
