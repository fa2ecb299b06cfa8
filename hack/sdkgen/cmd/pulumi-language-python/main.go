// pulumi-language-python, code generation only: pkg/v3/codegen/python.
package main

import (
	python "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"tenantry.local/sdkgen/host"
)

// pkgVersion is the github.com/pulumi/pulumi/pkg/v3 release in go.mod, the pulumi CLI's pin.
const pkgVersion = "3.259.0"

func main() {
	host.Serve(pkgVersion, func(
		req *pulumirpc.GeneratePackageRequest, pkg *schema.Package, loader schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return python.GeneratePackage(host.Tool, pkg, req.ExtraFiles, loader)
	})
}
