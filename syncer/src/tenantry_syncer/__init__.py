"""Tenantry syncer: copies a virtual cluster's workloads onto the host cluster."""
