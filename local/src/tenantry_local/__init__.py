"""Tenantry's local tools, run from a checkout by the Makefile: the local cluster, `make demo`,
`make render` and `make docs`. They find the repository from their own path, so they work in
the editable install `make sync` makes, not from a wheel."""
