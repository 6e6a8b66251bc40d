# tests/e2e/test-prov-parity.sh - provisioning behaviours that upstream's
# sidecar has and a drop-in replacement must match, seen on the real
# cluster. Snapshot helpers (snap_*) come from test-snapshot.sh.

# parity_snapshot NS CONTENT HANDLE SOURCE-MODE - snapshot NS/snap of a
# SOURCE-MODE volume, bound to its pre-provisioned content and ready.
parity_snapshot() {
  snap_objects "$1" snap "$2" "$CSI_DRIVER_NAME" "$3" "$4"
  snap_status "$1" snap "$2" "$3" true 1048576
}

# parity_restore_done NS CONTENT SNAPSHOT_ID VOLUME_ID - the restored claim
# NS/restored is Bound; our finalizer leaves the snapshot, and deleting the
# claim deletes its volume; then everything of the test goes.
parity_restore_done() {
  local pv
  pv=$(pv_of "$1" restored)
  wait_until 30 "our finalizer to leave the snapshot" snap_unprotected "$1" snap
  k delete -n "$1" pvc/restored --wait=false >/dev/null
  k wait "pv/$pv" --for=delete --timeout=60s
  snap_cleanup "$1" snap "$2" "$3" "$4"
  finish_namespace "$1"
  stop_daemon main
}

# A restore that would turn a Block snapshot into a Filesystem volume is
# refused (Warning event, nothing sent to the driver, no finalizer left)
# until the content carries allow-volume-mode-change=true; then it restores.
test_prov_parity_volume_mode_conversion() {
  local vol snap_id pv new_vol
  new_namespace pmode
  make_class pmode-class Delete
  vol=$(snap_volume pmode-src 1048576)
  snap_id=$(snap_cut "$vol" pmode-snapshot)
  parity_snapshot pmode pmode-content "$snap_id" Block
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  snap_claim pmode restored pmode-class snap 1Mi
  snap_refused pmode restored snap \
    'asks for volume mode Filesystem but snapshot content pmode-content holds a Block volume'
  k annotate volumesnapshotcontent/pmode-content \
    snapshot.storage.kubernetes.io/allow-volume-mode-change=True >/dev/null
  wait_bound pmode restored
  pv=$(pv_of pmode restored)
  new_vol=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  jq -e --arg id "$new_vol" --arg s "$snap_id" '.volumes[$id].sourceSnapshot == $s' \
    "$CLUSTER_DIR/hostpath-state/state.json" >/dev/null ||
    fail "the driver did not restore $new_vol from snapshot $snap_id"
  parity_restore_done pmode pmode-content "$snap_id" "$vol"
}

# With --prevent-volume-mode-conversion=false the same restore goes through
# at once, as upstream.
test_prov_parity_volume_mode_conversion_allowed_by_flag() {
  local vol snap_id
  new_namespace pmode2
  make_class pmode2-class Delete
  vol=$(snap_volume pmode2-src 1048576)
  snap_id=$(snap_cut "$vol" pmode2-snapshot)
  parity_snapshot pmode2 pmode2-content "$snap_id" Block
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s \
    --retry-interval-max=2s --prevent-volume-mode-conversion=F
  snap_claim pmode2 restored pmode2-class snap 1Mi
  wait_bound pmode2 restored
  ! event_says pmode2 restored ProvisioningFailed 'volume mode' ||
    fail "the restore was refused though the check is off"
  parity_restore_done pmode2 pmode2-content "$snap_id" "$vol"
}

# event_source NS OBJECT REASON - the source component of that event.
event_source() {
  k get -n "$1" events --field-selector "involvedObject.name=$2,reason=$3" \
    -o jsonpath='{.items[0].source.component}'
}

# The Provisioning event is out while CreateVolume is still with the driver
# (held by the proxy), and every event carries upstream's source:
# "<driver>_<host>_<uuid>". A claim refused before any request is built also
# gets Provisioning first, as upstream, then why.
test_prov_parity_events() {
  trap csi_cleanup EXIT
  local src uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'
  new_namespace pev
  make_class pev-class Delete
  make_class pev-bad Delete 'parameters:
  csi.storage.k8s.io/no-such-key: x'
  fp_start
  fp_rules 'CreateVolume hold'
  start_daemon main --csi-address="$FP_ENDPOINT" --timeout=120s --retry-interval-start=1s \
    --retry-interval-max=2s
  make_claim pev data pev-class
  wait_until 60 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  wait_until 30 "a Provisioning event while the driver works" event_says pev data Provisioning \
    'External provisioner is provisioning volume for claim "pev/data"'
  fp_count_at_least CreateVolume held 1 || fail "CreateVolume was not held while the event came"
  fp_rules ''
  wait_bound pev data
  wait_until 30 "a ProvisioningSucceeded event" event_says pev data ProvisioningSucceeded "$(pv_of pev data)"
  for reason in Provisioning ProvisioningSucceeded; do
    src=$(event_source pev data $reason)
    [[ $src =~ ^${CSI_DRIVER_NAME//./\\.}_.+_${uuid_re}$ ]] ||
      fail "event $reason comes from \"$src\", not <driver>_<host>_<uuid>"
  done
  make_claim pev refused pev-bad
  wait_until 30 "the refusal" event_says pev refused ProvisioningFailed 'no-such-key'
  event_says pev refused Provisioning 'External provisioner is provisioning volume for claim "pev/refused"' ||
    fail "no Provisioning event on a claim refused before its request was built"
  [[ $(event_source pev refused ProvisioningFailed) == "$src" ]] ||
    fail "the refusal comes from another source than the other events"
  finish_namespace pev
  stop_daemon main
}

# The provisioner Secret a volume was made with is gone when it is
# deleted: DeleteVolume goes without secrets (as upstream), with a Warning
# event on the PV saying so, and the volume is gone from the driver.
test_prov_parity_delete_without_secret() {
  trap csi_cleanup EXIT
  local pv handle
  new_namespace pdel
  k create secret generic -n pdel prov --from-literal=password=hunter2 >/dev/null
  make_class pdel-class Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: prov
  csi.storage.k8s.io/provisioner-secret-namespace: pdel'
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  make_claim pdel data pdel-class
  wait_bound pdel data
  pv=$(pv_of pdel data)
  handle=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  k delete -n pdel secret/prov >/dev/null
  k delete -n pdel pvc/data --wait=false >/dev/null
  k wait "pv/$pv" --for=delete --timeout=60s
  fp_jq --arg id "$handle" '[.[] | select(.name == "DeleteVolume" and .request.volume_id == $id)] |
      length == 1 and .[0].code_name == "OK" and (.[0].request.secrets // {}) == {}'
  driver_lacks_volume "$handle" || fail "volume $handle left in the driver"
  wait_until 30 "a DeletingWithoutSecret event" event_says default "$pv" DeletingWithoutSecret \
    'provisioner secret pdel/prov is gone'
  finish_namespace pdel
  stop_daemon main
}

# parity_preferred VOLUME - the first preferred segment's node value of the
# first CreateVolume for VOLUME in the proxy's record.
parity_preferred() {
  jq -r -s --arg v "$1" '[.[] | select(.name == "CreateVolume" and .request.name == $v)][0] |
    .request.accessibility_requirements.preferred[0].segments["topology.hostpath.csi/node"]' \
    "$TEST_DIR/fp.jsonl"
}

# parity_asked VOLUME... - the proxy recorded a CreateVolume for each.
parity_asked() {
  local v
  for v in "$@"; do
    [[ $(parity_preferred "$v") != null ]] || return 1
  done
}

# Immediate binding spreads StatefulSet claims as upstream: the rotation of
# the allowed segments is (FNV-1 32 of the StatefulSet name + ordinal) mod n,
# so both claims of pod web-0 prefer the same segment and web-1 the next.
test_prov_parity_statefulset_spreading() {
  trap csi_cleanup EXIT
  local -a segs
  local n uid0 uid0b uid1 want0 want1 got0 got0b got1
  new_namespace psts
  make_class psts-class Delete "allowedTopologies:
- matchLabelExpressions:
  - key: topology.hostpath.csi/node
    values: [$CSI_NODE_ID, psts-zone-x, psts-zone-y]"
  mapfile -t segs < <(printf '%s\n' "$CSI_NODE_ID" psts-zone-x psts-zone-y | LC_ALL=C sort)
  n=${#segs[@]}
  # FNV-1 32 of "web" is 0x46661985 (Go's hash/fnv)
  want0=${segs[$(( (0x46661985 + 0) % n ))]}
  want1=${segs[$(( (0x46661985 + 1) % n ))]}
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  make_claim psts data-web-0 psts-class
  make_claim psts logs-web-0 psts-class
  make_claim psts data-web-1 psts-class
  uid0=$(k get -n psts pvc/data-web-0 -o jsonpath='{.metadata.uid}')
  uid0b=$(k get -n psts pvc/logs-web-0 -o jsonpath='{.metadata.uid}')
  uid1=$(k get -n psts pvc/data-web-1 -o jsonpath='{.metadata.uid}')
  wait_until 60 "a CreateVolume for each claim" parity_asked "pvc-$uid0" "pvc-$uid0b" "pvc-$uid1"
  got0=$(parity_preferred "pvc-$uid0")
  got0b=$(parity_preferred "pvc-$uid0b")
  got1=$(parity_preferred "pvc-$uid1")
  [[ $got0 == "$want0" && $got0b == "$want0" ]] ||
    fail "pod web-0's claims prefer $got0 and $got0b, not both $want0"
  [[ $got1 == "$want1" ]] || fail "pod web-1's claim prefers $got1, not $want1"
  finish_namespace psts
  stop_daemon main
}

# parity_protected_snapshot NS NAME - a VolumeSnapshot (bound to no real
# snapshot: the sweep reads only the snapshot) carrying our finalizer, as a
# crash between protecting it and releasing it leaves one.
parity_protected_snapshot() {
  k apply -f - <<YAML
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: $2
  namespace: $1
  finalizers: [$SNAP_FINALIZER]
spec:
  source:
    volumeSnapshotContentName: $2-content
YAML
}

# Every --snapshot-orphan-sweep-interval our finalizer leaves the snapshots
# no Pending claim restores from (upstream's rule); one that a Pending claim
# still restores from (here a claim of another provisioner) keeps it.
test_prov_parity_orphan_snapshot_sweep() {
  new_namespace psweep
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: psweep-other
provisioner: other.example.com
YAML
  parity_protected_snapshot psweep orphan
  parity_protected_snapshot psweep inuse
  snap_claim psweep waiting psweep-other inuse 1Mi
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --snapshot-orphan-sweep-interval=2s
  wait_until 60 "the orphaned finalizer to go" snap_unprotected psweep orphan
  wait_log main 30 'snapshot psweep/orphan: no pending claim restores from it'
  has_snap_finalizer psweep inuse || fail "the sweep took the finalizer of a snapshot a Pending claim restores from"
  # the claim goes: at the next round (or at once, by the claim path) so does the finalizer
  k delete -n psweep pvc/waiting >/dev/null
  wait_until 60 "the released finalizer to go" snap_unprotected psweep inuse
  k delete -n psweep volumesnapshot/orphan volumesnapshot/inuse --timeout=30s >/dev/null
  k delete storageclass/psweep-other >/dev/null
  finish_namespace psweep
  stop_daemon main
}

# --snapshot-orphan-sweep-interval=0 turns the sweep off.
test_prov_parity_orphan_snapshot_sweep_off() {
  new_namespace psweep0
  parity_protected_snapshot psweep0 orphan
  make_class psweep0-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --snapshot-orphan-sweep-interval=0
  # a claim provisioned: the workers run, and a sweep would have made its first round
  make_claim psweep0 data psweep0-class
  wait_bound psweep0 data
  ! grep -q 'sweeping orphaned snapshot finalizers' "$TEST_DIR/daemon-main.log" ||
    fail "the sweep runs though the interval is 0"
  has_snap_finalizer psweep0 orphan || fail "the finalizer went with the sweep off"
  k patch -n psweep0 volumesnapshot/orphan --type=json \
    -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
  k delete -n psweep0 volumesnapshot/orphan --timeout=30s >/dev/null
  finish_namespace psweep0
  stop_daemon main
}
