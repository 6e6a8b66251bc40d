// csi-hostpath-node: the node side of our test CSI driver (tests/peers/hostpath),
// for Kubernetes' storage e2e suite in the pods mode (tests/pods/storage-e2e).
//
// It serves the CSI Identity and Node services on --endpoint and registers
// itself with the kubelet through the plugin registration protocol (a socket
// in the kubelet's plugins_registry directory), as node-driver-registrar does
// for other drivers. The controller side stays csi-hostpath: both share
// --statedir, whose state.json says what a volume is (directory or block
// file, size, clone source). Runs as root on the host (it mounts):
//   - NodeStageVolume: a filesystem volume's directory is bind-mounted on the
//     staging path; a block volume's file is grown to its size and attached
//     to a loop device. A clone (sourceVolume) is filled with a copy of its
//     source the first time it is staged (csi-hostpath creates it empty), a
//     volume restored from a snapshot (sourceSnapshot) with the snapshot's
//     copy (below).
//   - NodePublishVolume: the staging path (or the loop device) is
//     bind-mounted on the target path, read-only if asked.
//   - Unpublish / Unstage undo that; all four are idempotent.
//   - With --snapshot-endpoint (for csi-snapshotter): Identity and the
//     snapshot RPCs of the Controller service, forwarded to csi-hostpath
//     (--controller-endpoint), which keeps only a snapshot's record; the
//     data is copied here to --statedir/snapshots/<id> before CreateSnapshot
//     answers, so a restore sees the data as it was (snapshots.go).
//
// Built by tests/peers/build-hostpath-node in a module copied from the
// kubernetes wrapper (it needs k8s.io/kubelet's registration API). It lives
// one directory below tests/peers/<peer>/ so the plain peers' cache key
// (tests/peers/build hashes *.go two levels deep) does not change.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

var version = "v0.1.0"

// volume is the part of csi-hostpath's state.json record read here.
type volume struct {
	ID             string `json:"id"`
	CapacityBytes  int64  `json:"capacityBytes"`
	Block          bool   `json:"block"`
	SourceVolume   string `json:"sourceVolume"`
	SourceSnapshot string `json:"sourceSnapshot"`
}

type nodeServer struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedNodeServer

	name, nodeID, topologyKey, stateDir string
	mu                                  sync.Mutex // one volume operation at a time
}

func (n *nodeServer) lookup(id string) (*volume, error) {
	var st struct {
		Volumes map[string]*volume `json:"volumes"`
	}
	b, err := os.ReadFile(filepath.Join(n.stateDir, "state.json"))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read state: %v", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, status.Errorf(codes.Internal, "parse state: %v", err)
	}
	v := st.Volumes[id]
	if v == nil {
		return nil, status.Errorf(codes.NotFound, "volume %s does not exist", id)
	}
	return v, nil
}

func (n *nodeServer) volumePath(id string) string {
	return filepath.Join(n.stateDir, "volumes", id)
}

// mounted says whether path is a mount point (in /proc/self/mountinfo).
func mounted(path string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountPath(f[4]) == path {
			return true, nil
		}
	}
	return false, nil
}

func unescapeMountPath(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

func bindMount(src, dst string, readOnly bool) error {
	if ok, err := mounted(dst); err != nil || ok {
		return err
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on %s: %w", src, dst, err)
	}
	if readOnly {
		if err := unix.Mount("", dst, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			unix.Unmount(dst, 0)
			return fmt.Errorf("remount %s read-only: %w", dst, err)
		}
	}
	return nil
}

// mountOnDir bind-mounts directory src on dst, creating dst; a gRPC error.
func mountOnDir(src, dst string, readOnly bool) error {
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return status.Errorf(codes.Internal, "mount point: %v", err)
	}
	if err := bindMount(src, dst, readOnly); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	return nil
}

func unmount(path string) error {
	for {
		ok, err := mounted(path)
		if err != nil || !ok {
			return err
		}
		if err := unix.Unmount(path, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
}

// loopDevice returns the loop device attached to file, attaching one if attach.
func loopDevice(file string, attach bool) (string, error) {
	out, err := exec.Command("losetup", "-j", file, "-O", "NAME", "-n").Output()
	if err != nil {
		return "", fmt.Errorf("losetup -j %s: %w", file, err)
	}
	if dev := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]); dev != "" || !attach {
		return dev, nil
	}
	out, err = exec.Command("losetup", "-f", "--show", file).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("losetup -f %s: %v: %s", file, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// populate copies a clone's source volume, or a restored volume's snapshot,
// into it once (a marker file records it).
func (n *nodeServer) populate(v *volume) error {
	var src string
	switch {
	case v.SourceVolume != "":
		src = n.volumePath(v.SourceVolume)
	case v.SourceSnapshot != "":
		src = n.snapshotPath(v.SourceSnapshot)
	default:
		return nil
	}
	marker := filepath.Join(n.stateDir, "populated-"+v.ID)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	dst := n.volumePath(v.ID)
	var cmd *exec.Cmd
	if v.Block {
		cmd = exec.Command("cp", "--sparse=always", src, dst)
	} else {
		cmd = exec.Command("cp", "-a", src+"/.", dst+"/")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy source %s: %v: %s", src, err, strings.TrimSpace(string(out)))
	}
	return os.WriteFile(marker, nil, 0o644)
}

func (n *nodeServer) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: n.name, VendorVersion: version}, nil
}

func (n *nodeServer) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{}, nil
}

func (n *nodeServer) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

func (n *nodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	resp := &csi.NodeGetInfoResponse{NodeId: n.nodeID}
	if n.topologyKey != "" {
		resp.AccessibleTopology = &csi.Topology{Segments: map[string]string{n.topologyKey: n.nodeID}}
	}
	return resp, nil
}

func (n *nodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	rpc := func(t csi.NodeServiceCapability_RPC_Type) *csi.NodeServiceCapability {
		return &csi.NodeServiceCapability{Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: t}}}
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: []*csi.NodeServiceCapability{
		rpc(csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME),
	}}, nil
}

func checkPaths(id string, paths ...string) error {
	if id == "" {
		return status.Error(codes.InvalidArgument, "volume id is required")
	}
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			return status.Errorf(codes.InvalidArgument, "path %q must be absolute", p)
		}
	}
	return nil
}

func (n *nodeServer) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	if err := checkPaths(req.GetVolumeId(), req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume capability is required")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	v, err := n.lookup(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	if v.Block != (req.GetVolumeCapability().GetBlock() != nil) {
		return nil, status.Errorf(codes.InvalidArgument, "volume %s: access type does not match the volume (block=%v)", v.ID, v.Block)
	}
	if err := n.populate(v); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if v.Block {
		file := n.volumePath(v.ID)
		if fi, err := os.Stat(file); err != nil {
			return nil, status.Errorf(codes.Internal, "block file: %v", err)
		} else if fi.Size() < v.CapacityBytes {
			if err := os.Truncate(file, v.CapacityBytes); err != nil {
				return nil, status.Errorf(codes.Internal, "grow block file: %v", err)
			}
		}
		if _, err := loopDevice(file, true); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return &csi.NodeStageVolumeResponse{}, nil
	}
	if err := mountOnDir(n.volumePath(v.ID), req.GetStagingTargetPath(), false); err != nil {
		return nil, err
	}
	return &csi.NodeStageVolumeResponse{}, nil
}

func (n *nodeServer) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if err := checkPaths(req.GetVolumeId(), req.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := unmount(req.GetStagingTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	file := n.volumePath(req.GetVolumeId())
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() {
		dev, err := loopDevice(file, false)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if dev != "" {
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				return nil, status.Errorf(codes.Internal, "losetup -d %s: %v: %s", dev, err, out)
			}
		}
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

func (n *nodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	if err := checkPaths(req.GetVolumeId(), req.GetStagingTargetPath(), req.GetTargetPath()); err != nil {
		return nil, err
	}
	if req.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume capability is required")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	v, err := n.lookup(req.GetVolumeId())
	if err != nil {
		return nil, err
	}
	target := req.GetTargetPath()
	if v.Block {
		dev, err := loopDevice(n.volumePath(v.ID), false)
		if err != nil || dev == "" {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged (no loop device): %v", v.ID, err)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return nil, status.Errorf(codes.Internal, "target directory: %v", err)
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o640)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "target file: %v", err)
		}
		f.Close()
		if err := bindMount(dev, target, req.GetReadonly()); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		return &csi.NodePublishVolumeResponse{}, nil
	}
	if ok, err := mounted(req.GetStagingTargetPath()); err != nil || !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %s", v.ID, req.GetStagingTargetPath())
	}
	if err := mountOnDir(req.GetStagingTargetPath(), target, req.GetReadonly()); err != nil {
		return nil, err
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

func (n *nodeServer) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if err := checkPaths(req.GetVolumeId(), req.GetTargetPath()); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := unmount(req.GetTargetPath()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := os.Remove(req.GetTargetPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove target: %v", err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// registrar answers the kubelet's plugin watcher.
type registrar struct {
	registerapi.UnimplementedRegistrationServer
	name, endpoint string
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: r.name, Endpoint: r.endpoint,
		SupportedVersions: []string{"1.0.0"}}, nil
}

func (r *registrar) NotifyRegistrationStatus(ctx context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if s.PluginRegistered {
		log.Printf("registered with the kubelet")
	} else {
		log.Printf("the kubelet refused the registration: %s", s.Error)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}

func logRPC(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	msg := ""
	if err != nil {
		msg = status.Convert(err).Message()
	}
	log.Printf("%s %s %v %s", info.FullMethod, status.Code(err), time.Since(start).Round(time.Microsecond), msg)
	return resp, err
}

func listen(path string) net.Listener {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatal(err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		log.Fatal(err)
	}
	return l
}

func main() {
	n := &nodeServer{}
	endpoint := flag.String("endpoint", "", "CSI node socket: unix:///absolute/path")
	regDir := flag.String("registration-dir", "", "the kubelet's plugins_registry directory")
	flag.StringVar(&n.name, "drivername", "hostpath.csi.k8s.io", "CSI driver name")
	flag.StringVar(&n.nodeID, "nodeid", "", "node id (required)")
	flag.StringVar(&n.stateDir, "statedir", "", "csi-hostpath's --statedir (required)")
	flag.StringVar(&n.topologyKey, "topology-key", "topology.hostpath.csi/node", "topology segment key (empty: none)")
	snapEndpoint := flag.String("snapshot-endpoint", "", "socket for csi-snapshotter: unix:///absolute/path (empty: none)")
	ctrlEndpoint := flag.String("controller-endpoint", "", "csi-hostpath's socket (with --snapshot-endpoint)")
	flag.Parse()
	sock, ok := strings.CutPrefix(*endpoint, "unix://")
	if !ok || !filepath.IsAbs(sock) || n.nodeID == "" || n.stateDir == "" || !filepath.IsAbs(*regDir) {
		log.Fatal("need --endpoint=unix:///ABS, --nodeid, --statedir and an absolute --registration-dir")
	}
	if err := os.MkdirAll(*regDir, 0o750); err != nil {
		log.Fatal(err)
	}

	csiSrv := grpc.NewServer(grpc.UnaryInterceptor(logRPC))
	csi.RegisterIdentityServer(csiSrv, n)
	csi.RegisterNodeServer(csiSrv, n)
	csiL := listen(sock)
	go func() { log.Fatal(csiSrv.Serve(csiL)) }()
	if *snapEndpoint != "" {
		if err := serveSnapshots(n, *snapEndpoint, *ctrlEndpoint); err != nil {
			log.Fatal(err)
		}
	}

	regSrv := grpc.NewServer(grpc.UnaryInterceptor(logRPC))
	registerapi.RegisterRegistrationServer(regSrv, &registrar{name: n.name, endpoint: sock})
	regL := listen(filepath.Join(*regDir, n.name+"-reg.sock"))
	log.Printf("serving on %s, registration socket %s", sock, regL.Addr())
	log.Fatal(regSrv.Serve(regL))
}
