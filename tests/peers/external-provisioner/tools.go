//go:build tools

// Package tools records the binary built from this wrapper module (the
// upstream external-provisioner, for bench/provision), so that `go mod tidy`
// keeps its dependencies in go.mod/go.sum.
package tools

import _ "github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner"
