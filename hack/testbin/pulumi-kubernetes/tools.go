//go:build tools

// Package tools keeps the provider's packages in this module's graph, so that
// `go mod tidy` records everything that build.sh builds. build.sh builds
// upstream's own main package; nothing here is compiled.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
