// Package tenantry exports types, functions, subpackages for provisioning tenantry resources.
package tenantry
