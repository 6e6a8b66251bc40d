// csi-hostpath: our own small CSI controller plugin for tests (see main.go).
// Built by tests/peers/build with -ldflags "-X main.version=<version>".
module csi-provisioner.test/peers/hostpath

go 1.26.0

require (
	github.com/container-storage-interface/spec v1.12.0
	google.golang.org/grpc v1.69.2
	google.golang.org/protobuf v1.35.1
)

require (
	golang.org/x/net v0.38.0 // indirect
	golang.org/x/sys v0.31.0 // indirect
	golang.org/x/text v0.23.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20241015192408-796eee8c2d53 // indirect
)
