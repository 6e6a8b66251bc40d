// tools.go - the two programs tests/peers/build-snapshotter builds, imported
// so that `go mod tidy` records their dependencies in go.sum.

//go:build tools

package tools

import (
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
