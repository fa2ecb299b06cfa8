// pulumi-language-{nodejs,python,go}, code generation only, from pkg/v3/codegen. One binary
// is installed under each of the three names (build.sh); the name it runs as picks the
// generator, as the engine finds a language plugin by its name.
package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejs "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	python "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"tenantry.local/sdkgen/host"
)

// pkgVersion is the github.com/pulumi/pulumi/pkg/v3 release in go.mod, the pulumi CLI's pin.
const pkgVersion = "3.259.0"

var generators = map[string]host.Generate{
	"pulumi-language-nodejs": func(
		req *pulumirpc.GeneratePackageRequest, pkg *schema.Package, loader schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return nodejs.GeneratePackage(host.Tool, pkg, req.ExtraFiles, req.LocalDependencies, req.Local, loader)
	},
	"pulumi-language-python": func(
		req *pulumirpc.GeneratePackageRequest, pkg *schema.Package, loader schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return python.GeneratePackage(host.Tool, pkg, req.ExtraFiles, loader)
	},
	"pulumi-language-go": generateGo,
}

func generateGo(
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
}

func main() {
	name := filepath.Base(os.Args[0])
	generate, ok := generators[name]
	if !ok {
		names := make([]string, 0, len(generators))
		for known := range generators {
			names = append(names, known)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "%s: install this binary as one of %v\n", name, names)
		os.Exit(2)
	}
	host.Serve(pkgVersion, generate)
}
