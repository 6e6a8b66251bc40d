// Command csi-hostpath is a small CSI controller plugin used as the storage
// backend of csi-provisioner's integration tests and benchmarks.
//
// It stands in for kubernetes-csi/csi-driver-host-path (which the module
// proxy available to this project does not serve) and accepts the same
// command-line flags for the parts we use: --endpoint, --nodeid,
// --drivername, --statedir and --capacity KIND=SIZE. It implements the
// Identity and Controller services (volumes, snapshots, clones, capacity,
// expansion) plus NodeGetInfo/NodeGetCapabilities. No kubelet, no mounts:
// a filesystem volume is a directory under --statedir/volumes, a block
// volume an empty file there. State survives restarts via
// --statedir/state.json (rewritten atomically on every change).
//
// Extra test knobs: --create-delay/--delete-delay slow the RPCs down,
// --fail-create-names makes CreateVolume fail for names with a given prefix,
// and --fail-echoing-secrets makes the named RPCs fail with a message that
// quotes the request's secrets (a careless driver, for redaction tests).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = ""

const (
	kib = int64(1024)
	mib = 1024 * kib
	gib = 1024 * mib
	tib = 1024 * gib

	defaultVolumeSize = 1 * gib
)

// capacityFlag collects repeated --capacity KIND=SIZE flags.
type capacityFlag map[string]int64

func (c capacityFlag) String() string {
	parts := make([]string, 0, len(c))
	for k, v := range c {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (c capacityFlag) Set(s string) error {
	kind, size, ok := strings.Cut(s, "=")
	if !ok || kind == "" {
		return fmt.Errorf("want KIND=SIZE, got %q", s)
	}
	n, err := parseSize(size)
	if err != nil {
		return err
	}
	c[kind] = n
	return nil
}

// parseSize understands plain bytes and the suffixes Ki Mi Gi Ti (and K M G T
// as powers of 1000).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"Ki", kib}, {"Mi", mib}, {"Gi", gib}, {"Ti", tib},
		{"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}, {"T", 1000 * 1000 * 1000 * 1000},
	}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s = strings.TrimSuffix(s, u.suffix)
			mult = u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}

// volume and snapshot are the persisted records.
type volume struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	CapacityBytes  int64  `json:"capacityBytes"`
	Kind           string `json:"kind,omitempty"`
	Block          bool   `json:"block,omitempty"`
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	SourceVolume   string `json:"sourceVolume,omitempty"`
}

type snapshot struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	SourceVolume string `json:"sourceVolume"`
	SizeBytes    int64  `json:"sizeBytes"`
	CreatedUnix  int64  `json:"createdUnixNano"`
}

type state struct {
	Volumes   map[string]*volume   `json:"volumes"`
	Snapshots map[string]*snapshot `json:"snapshots"`
}

type driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedNodeServer

	attach bool // report PUBLISH_UNPUBLISH_VOLUME
	// undersize: CreateVolume reports this many bytes less than it was asked
	// for (a misbehaving driver, for tests of the capacity check)
	undersize int64
	modify    bool // report MODIFY_VOLUME

	name          string
	nodeID        string
	stateDir      string
	topologyKey   string
	topology      bool
	maxVolumeSize int64
	capacity      map[string]int64
	createDelay   time.Duration
	deleteDelay   time.Duration
	failPrefix    string
	echoSecrets   map[string]bool // RPC name -> fail, quoting the secrets

	mu sync.Mutex
	st state
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func (d *driver) statePath() string { return filepath.Join(d.stateDir, "state.json") }
func (d *driver) volumePath(id string) string {
	return filepath.Join(d.stateDir, "volumes", id)
}

func (d *driver) load() error {
	d.st = state{Volumes: map[string]*volume{}, Snapshots: map[string]*snapshot{}}
	if err := os.MkdirAll(filepath.Join(d.stateDir, "volumes"), 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(d.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &d.st); err != nil {
		return fmt.Errorf("%s: %w", d.statePath(), err)
	}
	if d.st.Volumes == nil {
		d.st.Volumes = map[string]*volume{}
	}
	if d.st.Snapshots == nil {
		d.st.Snapshots = map[string]*snapshot{}
	}
	return nil
}

// save writes the state file atomically. Caller holds d.mu.
func (d *driver) save() error {
	data, err := json.Marshal(&d.st)
	if err != nil {
		return err
	}
	tmp := d.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, d.statePath())
}

func (d *driver) accessibleTopology() []*csi.Topology {
	if !d.topology {
		return nil
	}
	return []*csi.Topology{{Segments: map[string]string{d.topologyKey: d.nodeID}}}
}

// topologyOK reports whether our single node satisfies the requirement.
func (d *driver) topologyOK(req *csi.TopologyRequirement) bool {
	if !d.topology || req == nil {
		return true
	}
	if len(req.Requisite) == 0 && len(req.Preferred) == 0 {
		return true
	}
	for _, list := range [][]*csi.Topology{req.Requisite, req.Preferred} {
		for _, t := range list {
			if v, ok := t.GetSegments()[d.topologyKey]; ok && v == d.nodeID {
				return true
			}
		}
	}
	return false
}

// usedLocked returns the bytes allocated to volumes of the given kind.
func (d *driver) usedLocked(kind string) int64 {
	var used int64
	for _, v := range d.st.Volumes {
		if v.Kind == kind {
			used += v.CapacityBytes
		}
	}
	return used
}

func validateCaps(caps []*csi.VolumeCapability) (block bool, err error) {
	if len(caps) == 0 {
		return false, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	for _, c := range caps {
		if c.GetAccessMode() == nil || c.GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_UNKNOWN {
			return false, status.Error(codes.InvalidArgument, "access mode missing")
		}
		switch {
		case c.GetBlock() != nil:
			block = true
		case c.GetMount() != nil:
		default:
			return false, status.Error(codes.InvalidArgument, "access type missing")
		}
	}
	return block, nil
}

// ---- Identity ----

func (d *driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: d.name, VendorVersion: version}, nil
}

func (d *driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	svc := func(t csi.PluginCapability_Service_Type) *csi.PluginCapability {
		return &csi.PluginCapability{Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: t}}}
	}
	caps := []*csi.PluginCapability{svc(csi.PluginCapability_Service_CONTROLLER_SERVICE)}
	if d.topology {
		caps = append(caps, svc(csi.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS))
	}
	caps = append(caps, &csi.PluginCapability{Type: &csi.PluginCapability_VolumeExpansion_{
		VolumeExpansion: &csi.PluginCapability_VolumeExpansion{Type: csi.PluginCapability_VolumeExpansion_ONLINE}}})
	return &csi.GetPluginCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// ---- Controller ----

func (d *driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	var extra []csi.ControllerServiceCapability_RPC_Type
	if d.attach {
		extra = append(extra, csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME)
	}
	if d.modify {
		extra = append(extra, csi.ControllerServiceCapability_RPC_MODIFY_VOLUME)
	}
	for _, t := range extra {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

func (d *driver) toCSIVolume(v *volume) *csi.Volume {
	out := &csi.Volume{
		VolumeId:           v.ID,
		CapacityBytes:      v.CapacityBytes - d.undersize,
		AccessibleTopology: d.accessibleTopology(),
	}
	switch {
	case v.SourceSnapshot != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: v.SourceSnapshot}}}
	case v.SourceVolume != "":
		out.ContentSource = &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: v.SourceVolume}}}
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (d *driver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name missing")
	}
	block, err := validateCaps(req.GetVolumeCapabilities())
	if err != nil {
		return nil, err
	}
	if d.failPrefix != "" && strings.HasPrefix(req.GetName(), d.failPrefix) {
		return nil, status.Errorf(codes.Internal, "injected failure for %q", req.GetName())
	}
	if err := d.echoFailure("CreateVolume", req.GetSecrets()); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, d.createDelay); err != nil {
		return nil, err
	}

	required := req.GetCapacityRange().GetRequiredBytes()
	limit := req.GetCapacityRange().GetLimitBytes()
	if required < 0 || limit < 0 {
		return nil, status.Error(codes.InvalidArgument, "negative capacity")
	}
	if limit > 0 && required > limit {
		return nil, status.Errorf(codes.InvalidArgument, "required %d exceeds limit %d", required, limit)
	}
	size := required
	if size == 0 {
		size = defaultVolumeSize
		if limit > 0 && limit < size {
			size = limit
		}
	}
	if size > d.maxVolumeSize {
		return nil, status.Errorf(codes.OutOfRange, "requested %d exceeds maximum volume size %d", size, d.maxVolumeSize)
	}

	var srcSnap, srcVol string
	if src := req.GetVolumeContentSource(); src != nil {
		switch {
		case src.GetSnapshot() != nil:
			srcSnap = src.GetSnapshot().GetSnapshotId()
		case src.GetVolume() != nil:
			srcVol = src.GetVolume().GetVolumeId()
		default:
			return nil, status.Error(codes.InvalidArgument, "unsupported volume content source")
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()

	for _, v := range d.st.Volumes {
		if v.Name != req.GetName() {
			continue
		}
		if v.CapacityBytes < required || (limit > 0 && v.CapacityBytes > limit) ||
			v.SourceSnapshot != srcSnap || v.SourceVolume != srcVol || v.Block != block {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with different parameters", v.Name)
		}
		return &csi.CreateVolumeResponse{Volume: d.toCSIVolume(v)}, nil
	}

	if !d.topologyOK(req.GetAccessibilityRequirements()) {
		return nil, status.Errorf(codes.ResourceExhausted, "node %s does not match the accessibility requirements", d.nodeID)
	}
	if srcSnap != "" {
		s, ok := d.st.Snapshots[srcSnap]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "source snapshot %s not found", srcSnap)
		}
		if s.SizeBytes > size {
			return nil, status.Errorf(codes.OutOfRange, "snapshot %s (%d bytes) larger than requested %d", srcSnap, s.SizeBytes, size)
		}
	}
	if srcVol != "" {
		s, ok := d.st.Volumes[srcVol]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "source volume %s not found", srcVol)
		}
		if s.CapacityBytes > size {
			return nil, status.Errorf(codes.OutOfRange, "volume %s (%d bytes) larger than requested %d", srcVol, s.CapacityBytes, size)
		}
	}

	kind := req.GetParameters()["kind"]
	if len(d.capacity) > 0 {
		if kind == "" {
			kinds := make([]string, 0, len(d.capacity))
			for k := range d.capacity {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				if d.capacity[k]-d.usedLocked(k) >= size {
					kind = k
					break
				}
			}
			if kind == "" {
				return nil, status.Errorf(codes.ResourceExhausted, "no capacity left for %d bytes", size)
			}
		}
		total, ok := d.capacity[kind]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "unknown kind %q", kind)
		}
		if total-d.usedLocked(kind) < size {
			return nil, status.Errorf(codes.ResourceExhausted, "kind %q has not enough capacity for %d bytes", kind, size)
		}
	}

	v := &volume{ID: newID(), Name: req.GetName(), CapacityBytes: size, Kind: kind, Block: block,
		SourceSnapshot: srcSnap, SourceVolume: srcVol}
	if block {
		f, err := os.OpenFile(d.volumePath(v.ID), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "create block file: %v", err)
		}
		f.Close()
	} else if err := os.Mkdir(d.volumePath(v.ID), 0o777); err != nil {
		return nil, status.Errorf(codes.Internal, "create directory: %v", err)
	}
	d.st.Volumes[v.ID] = v
	if err := d.save(); err != nil {
		delete(d.st.Volumes, v.ID)
		os.RemoveAll(d.volumePath(v.ID))
		return nil, status.Errorf(codes.Internal, "save state: %v", err)
	}
	return &csi.CreateVolumeResponse{Volume: d.toCSIVolume(v)}, nil
}

// echoFailure is the --fail-echoing-secrets error for rpc, or nil: it quotes
// every secret of the request, key and value, in sorted order.
func (d *driver) echoFailure(rpc string, secrets map[string]string) error {
	if !d.echoSecrets[rpc] || len(secrets) == 0 {
		return nil
	}
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%s", k, secrets[k]))
	}
	return status.Errorf(codes.Unauthenticated, "%s refused with secrets [%s]", rpc, strings.Join(parts, " "))
}

func (d *driver) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	}
	if err := d.echoFailure("DeleteVolume", req.GetSecrets()); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, d.deleteDelay); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.st.Volumes[req.GetVolumeId()]; !ok {
		return &csi.DeleteVolumeResponse{}, nil
	}
	if err := os.RemoveAll(d.volumePath(req.GetVolumeId())); err != nil {
		return nil, status.Errorf(codes.Internal, "remove: %v", err)
	}
	delete(d.st.Volumes, req.GetVolumeId())
	if err := d.save(); err != nil {
		return nil, status.Errorf(codes.Internal, "save state: %v", err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

func (d *driver) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	}
	if _, err := validateCaps(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	d.mu.Lock()
	_, ok := d.st.Volumes[req.GetVolumeId()]
	d.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

// page applies CSI's starting_token/max_entries paging to n sorted items.
func page(n int, token string, max int32) (start, end int, next string, err error) {
	if token != "" {
		start, err = strconv.Atoi(token)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", status.Errorf(codes.Aborted, "invalid starting token %q", token)
		}
	}
	if max < 0 {
		return 0, 0, "", status.Error(codes.InvalidArgument, "negative max_entries")
	}
	end = n
	if max > 0 && start+int(max) < n {
		end = start + int(max)
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func (d *driver) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]string, 0, len(d.st.Volumes))
	for id := range d.st.Volumes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	start, end, next, err := page(len(ids), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	resp := &csi.ListVolumesResponse{NextToken: next}
	for _, id := range ids[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListVolumesResponse_Entry{Volume: d.toCSIVolume(d.st.Volumes[id])})
	}
	return resp, nil
}

func (d *driver) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	if t := req.GetAccessibleTopology(); t != nil && d.topology {
		if v, ok := t.GetSegments()[d.topologyKey]; !ok || v != d.nodeID {
			return &csi.GetCapacityResponse{AvailableCapacity: 0}, nil
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.capacity) == 0 {
		return &csi.GetCapacityResponse{AvailableCapacity: d.maxVolumeSize}, nil
	}
	var avail int64
	kind := req.GetParameters()["kind"]
	for k, total := range d.capacity {
		if kind == "" || kind == k {
			avail += total - d.usedLocked(k)
		}
	}
	return &csi.GetCapacityResponse{AvailableCapacity: avail}, nil
}

func (d *driver) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id missing")
	}
	if req.GetCapacityRange() == nil {
		return nil, status.Error(codes.InvalidArgument, "capacity range missing")
	}
	size := req.GetCapacityRange().GetRequiredBytes()
	if size > d.maxVolumeSize {
		return nil, status.Errorf(codes.OutOfRange, "requested %d exceeds maximum volume size %d", size, d.maxVolumeSize)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.st.Volumes[req.GetVolumeId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	if size > v.CapacityBytes {
		v.CapacityBytes = size
		if err := d.save(); err != nil {
			return nil, status.Errorf(codes.Internal, "save state: %v", err)
		}
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: v.CapacityBytes, NodeExpansionRequired: !v.Block}, nil
}

func (d *driver) toCSISnapshot(s *snapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     s.ID,
		SourceVolumeId: s.SourceVolume,
		SizeBytes:      s.SizeBytes,
		CreationTime:   timestamppb.New(time.Unix(0, s.CreatedUnix)),
		ReadyToUse:     true,
	}
}

func (d *driver) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "name missing")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume id missing")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.st.Snapshots {
		if s.Name == req.GetName() {
			if s.SourceVolume != req.GetSourceVolumeId() {
				return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists for another volume", s.Name)
			}
			return &csi.CreateSnapshotResponse{Snapshot: d.toCSISnapshot(s)}, nil
		}
	}
	v, ok := d.st.Volumes[req.GetSourceVolumeId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "source volume %s not found", req.GetSourceVolumeId())
	}
	s := &snapshot{ID: newID(), Name: req.GetName(), SourceVolume: v.ID, SizeBytes: v.CapacityBytes,
		CreatedUnix: time.Now().UnixNano()}
	d.st.Snapshots[s.ID] = s
	if err := d.save(); err != nil {
		delete(d.st.Snapshots, s.ID)
		return nil, status.Errorf(codes.Internal, "save state: %v", err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: d.toCSISnapshot(s)}, nil
}

func (d *driver) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id missing")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.st.Snapshots[req.GetSnapshotId()]; ok {
		delete(d.st.Snapshots, req.GetSnapshotId())
		if err := d.save(); err != nil {
			return nil, status.Errorf(codes.Internal, "save state: %v", err)
		}
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

func (d *driver) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id, s := range d.st.Snapshots {
		if req.GetSnapshotId() != "" && id != req.GetSnapshotId() {
			continue
		}
		if req.GetSourceVolumeId() != "" && s.SourceVolume != req.GetSourceVolumeId() {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	start, end, next, err := page(len(ids), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	resp := &csi.ListSnapshotsResponse{NextToken: next}
	for _, id := range ids[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: d.toCSISnapshot(d.st.Snapshots[id])})
	}
	return resp, nil
}

// ---- Node (only what a controller-only deployment is asked) ----

func (d *driver) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	resp := &csi.NodeGetInfoResponse{NodeId: d.nodeID}
	if d.topology {
		resp.AccessibleTopology = d.accessibleTopology()[0]
	}
	return resp, nil
}

func (d *driver) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

// NodeUnpublishVolume is an idempotent no-op: this driver never publishes
// (csi-sanity's cleanup calls it for every volume it created).
func (d *driver) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" || req.GetTargetPath() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id and target path are required")
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// logRPC logs every call with its duration and result code.
func logRPC(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	log.Printf("%s %s %v %s", info.FullMethod, status.Code(err), time.Since(start).Round(time.Microsecond), errMsg(err))
	return resp, err
}

func errMsg(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}

func main() {
	d := &driver{capacity: capacityFlag{}}
	endpoint := flag.String("endpoint", "unix:///csi/csi.sock", "CSI endpoint: unix:///absolute/path")
	flag.StringVar(&d.name, "drivername", "hostpath.csi.k8s.io", "CSI driver name")
	flag.StringVar(&d.nodeID, "nodeid", "", "node id (required)")
	flag.StringVar(&d.stateDir, "statedir", "/csi-data-dir", "directory for volumes and state.json")
	flag.StringVar(&d.topologyKey, "topology-key", "topology.hostpath.csi/node", "topology segment key")
	flag.BoolVar(&d.topology, "enable-topology", true, "report topology (VOLUME_ACCESSIBILITY_CONSTRAINTS)")
	flag.BoolVar(&d.attach, "enable-attach", false, "report PUBLISH_UNPUBLISH_VOLUME (volumes need attaching)")
	flag.BoolVar(&d.modify, "enable-modify", false, "report MODIFY_VOLUME (mutable parameters accepted)")
	flag.Int64Var(&d.undersize, "undersize-bytes", 0, "report volumes this many bytes smaller than created (tests)")
	flag.Var((capacityFlag)(d.capacity), "capacity", "KIND=SIZE capacity pool, repeatable (StorageClass parameter 'kind' selects one)")
	maxSize := flag.String("max-volume-size", "1Ti", "largest volume CreateVolume accepts")
	flag.DurationVar(&d.createDelay, "create-delay", 0, "sleep this long in every CreateVolume")
	flag.DurationVar(&d.deleteDelay, "delete-delay", 0, "sleep this long in every DeleteVolume")
	flag.StringVar(&d.failPrefix, "fail-create-names", "", "CreateVolume fails (Internal) for names with this prefix")
	echo := flag.String("fail-echoing-secrets", "", "comma-separated RPCs (CreateVolume, DeleteVolume) that fail quoting the request's secrets")
	logRPCs := flag.Bool("log-rpcs", true, "log every RPC")
	showVersion := flag.Bool("version", false, "print version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println(version)
		return
	}
	if version == "" {
		log.Fatal("built without -ldflags -X main.version=...; refusing to start")
	}
	if d.nodeID == "" {
		log.Fatal("--nodeid is required")
	}
	d.echoSecrets = map[string]bool{}
	for _, rpc := range strings.Split(*echo, ",") {
		switch rpc {
		case "":
		case "CreateVolume", "DeleteVolume":
			d.echoSecrets[rpc] = true
		default:
			log.Fatalf("--fail-echoing-secrets: unknown RPC %q", rpc)
		}
	}
	var err error
	if d.maxVolumeSize, err = parseSize(*maxSize); err != nil {
		log.Fatal(err)
	}
	sock, ok := strings.CutPrefix(*endpoint, "unix://")
	if !ok || !filepath.IsAbs(sock) {
		log.Fatalf("--endpoint must be unix:///absolute/path, got %q", *endpoint)
	}
	if d.stateDir, err = filepath.Abs(d.stateDir); err != nil {
		log.Fatal(err)
	}
	if err := d.load(); err != nil {
		log.Fatalf("load state: %v", err)
	}

	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Fatalf("remove stale socket: %v", err)
	}
	lis, err := net.Listen("unix", sock)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	var opts []grpc.ServerOption
	if *logRPCs {
		opts = append(opts, grpc.UnaryInterceptor(logRPC))
	}
	srv := grpc.NewServer(opts...)
	csi.RegisterIdentityServer(srv, d)
	csi.RegisterControllerServer(srv, d)
	csi.RegisterNodeServer(srv, d)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		log.Printf("got %v, stopping", sig)
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Stop()
		}
	}()

	log.Printf("csi-hostpath %s: driver %s node %s serving on %s, state in %s, %d volumes",
		version, d.name, d.nodeID, sock, d.stateDir, len(d.st.Volumes))
	if err := srv.Serve(lis); err != nil {
		log.Printf("serve: %v", err)
	}
	os.Remove(sock)
}
