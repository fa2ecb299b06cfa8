// pulumi-language-go, code generation only: pkg/v3/codegen/go.
package main

import (
	"fmt"
	"path"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"tenantry.local/sdkgen/host"
)

// pkgVersion is the github.com/pulumi/pulumi/pkg/v3 release in go.mod, the pulumi CLI's pin.
const pkgVersion = "3.259.0"

func main() {
	host.Serve(pkgVersion, func(
		req *pulumirpc.GeneratePackageRequest, pkg *schema.Package, _ schema.ReferenceLoader,
	) (map[string][]byte, error) {
		files, err := gogen.GeneratePackage(host.Tool, pkg, req.LocalDependencies)
		if err != nil {
			return nil, err
		}
		for name, content := range req.ExtraFiles {
			files[name] = content
		}
		// The generator writes a go.mod only for schemas with meta.supportPack, and then pins
		// the SDK release it was written against. The Tenantry schema comes from Pulumi's
		// component analyzer, which sets no such option; the SDK gets a go.mod at the root of
		// its output (so its packages sit under <module>/<package>), requiring the Go SDK of
		// the very release whose generator ran. `make sdk` then runs `go mod tidy` for go.sum.
		if _, ok := files["go.mod"]; !ok {
			importBase := gogen.ExtractImportBasePath(pkg.Reference())
			if info, ok := pkg.Language["go"].(gogen.GoPackageInfo); ok && info.ImportBasePath != "" {
				importBase = info.ImportBasePath
			}
			files["go.mod"] = []byte(fmt.Sprintf(
				"module %s\n\ngo 1.25\n\nrequire github.com/pulumi/pulumi/sdk/v3 v%s\n",
				path.Dir(importBase), pkgVersion))
		}
		return files, nil
	})
}
