// pulumi-language-dotnet, code generation only: pkg/v3/codegen/dotnet.
//
// The .NET generator left pkg/v3 for the pulumi-dotnet repository, whose modules the proxy
// reachable here refuses; v3.225.1 is the newest pkg/v3 the proxy serves that still has it.
package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/http"

	dotnet "github.com/pulumi/pulumi/pkg/v3/codegen/dotnet"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"tenantry.local/sdkgen/dotnet/host"
)

// pkgVersion is the github.com/pulumi/pulumi/pkg/v3 release in go.mod.
const pkgVersion = "3.225.1"

// The generator downloads the NuGet package icon (the schema's logoUrl, else Pulumi's logo on
// GitHub). Generation must not depend on the network, so every download is answered with
// Tenantry's own icon, committed next to this file.
//
//go:embed logo.png
var logo []byte

type offline struct{}

func (offline) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("sdkgen: no network: %s %s", req.Method, req.URL)
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"image/png"}}, Request: req,
		Body: io.NopCloser(bytes.NewReader(logo)), ContentLength: int64(len(logo)),
	}, nil
}

func main() {
	http.DefaultTransport = offline{}
	http.DefaultClient.Transport = offline{}
	host.Serve(pkgVersion, func(
		req *pulumirpc.GeneratePackageRequest, pkg *schema.Package, _ schema.ReferenceLoader,
	) (map[string][]byte, error) {
		return dotnet.GeneratePackage(host.Tool, pkg, req.ExtraFiles, req.LocalDependencies)
	})
}
