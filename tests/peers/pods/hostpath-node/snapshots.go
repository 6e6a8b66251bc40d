// snapshots.go - csi-hostpath-node's snapshot endpoint (--snapshot-endpoint),
// which csi-snapshotter calls: Identity, and the Controller service's
// snapshot RPCs forwarded to csi-hostpath (--controller-endpoint). csi-hostpath
// records a snapshot but keeps no data, so CreateSnapshot here also copies
// the source volume (directory or block file) to --statedir/snapshots/<id>
// before it answers; populate (main.go) fills a volume restored from that
// snapshot with the copy at its first stage. DeleteSnapshot removes the copy.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

type snapshotServer struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer

	n    *nodeServer
	ctrl csi.ControllerClient
}

func (n *nodeServer) snapshotPath(id string) string {
	return filepath.Join(n.stateDir, "snapshots", id)
}

// saveSnapshot copies volume volID to the snapshot's directory or file,
// through a temporary name, once.
func (n *nodeServer) saveSnapshot(snapID, volID string) error {
	dst := n.snapshotPath(snapID)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	v, err := n.lookup(volID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	var cmd *exec.Cmd
	if v.Block {
		cmd = exec.Command("cp", "--sparse=always", n.volumePath(v.ID), tmp)
	} else {
		if err := os.Mkdir(tmp, 0o755); err != nil {
			return err
		}
		cmd = exec.Command("cp", "-a", n.volumePath(v.ID)+"/.", tmp+"/")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copy volume %s: %v: %s", v.ID, err, strings.TrimSpace(string(out)))
	}
	return os.Rename(tmp, dst)
}

func (s *snapshotServer) GetPluginInfo(ctx context.Context, req *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return s.n.GetPluginInfo(ctx, req)
}

func (s *snapshotServer) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{
			Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}}}}}, nil
}

func (s *snapshotServer) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

func (s *snapshotServer) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	rpc := func(t csi.ControllerServiceCapability_RPC_Type) *csi.ControllerServiceCapability {
		return &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}}
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: []*csi.ControllerServiceCapability{
		rpc(csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT),
		rpc(csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS),
	}}, nil
}

func (s *snapshotServer) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	resp, err := s.ctrl.CreateSnapshot(ctx, req)
	if err != nil {
		return nil, err
	}
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if err := s.n.saveSnapshot(resp.GetSnapshot().GetSnapshotId(), req.GetSourceVolumeId()); err != nil {
		return nil, status.Errorf(codes.Internal, "snapshot %s: %v", resp.GetSnapshot().GetSnapshotId(), err)
	}
	return resp, nil
}

func (s *snapshotServer) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	resp, err := s.ctrl.DeleteSnapshot(ctx, req)
	if err != nil {
		return nil, err
	}
	// an id that is not a plain file name has no copy here
	if id := req.GetSnapshotId(); id != "" && id != "." && id != ".." && filepath.Base(id) == id {
		s.n.mu.Lock()
		defer s.n.mu.Unlock()
		if err := os.RemoveAll(s.n.snapshotPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, status.Errorf(codes.Internal, "remove snapshot data: %v", err)
		}
	}
	return resp, nil
}

func (s *snapshotServer) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	return s.ctrl.ListSnapshots(ctx, req)
}

// serveSnapshots starts the snapshot endpoint in the background.
func serveSnapshots(n *nodeServer, endpoint, ctrlEndpoint string) error {
	sock, ok := strings.CutPrefix(endpoint, "unix://")
	ctrlSock, ok2 := strings.CutPrefix(ctrlEndpoint, "unix://")
	if !ok || !ok2 || !filepath.IsAbs(sock) || !filepath.IsAbs(ctrlSock) {
		return errors.New("need --snapshot-endpoint=unix:///ABS and --controller-endpoint=unix:///ABS")
	}
	conn, err := grpc.NewClient("unix://"+ctrlSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("controller endpoint: %w", err)
	}
	s := &snapshotServer{n: n, ctrl: csi.NewControllerClient(conn)}
	srv := grpc.NewServer(grpc.UnaryInterceptor(logRPC))
	csi.RegisterIdentityServer(srv, s)
	csi.RegisterControllerServer(srv, s)
	l := listen(sock)
	go func() { log.Fatal(srv.Serve(l)) }()
	return nil
}
