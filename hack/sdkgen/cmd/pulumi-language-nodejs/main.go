// pulumi-language-nodejs, code generation only: pkg/v3/codegen/nodejs.
package main

import (
	nodejs "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
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
		return nodejs.GeneratePackage(host.Tool, pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	})
}
