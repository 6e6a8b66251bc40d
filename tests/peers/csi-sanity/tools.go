//go:build tools

// Package tools records the binaries built from this wrapper module, so that
// `go mod tidy` keeps their dependencies in go.mod/go.sum.
package tools

import _ "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity"
