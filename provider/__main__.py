"""Entry point of the Tenantry plugin: serves TenantPolicy, VirtualCluster and VirtualNode."""

from tenantry.provider import main

main()
