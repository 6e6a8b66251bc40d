# tests/e2e/test-snapshot.sh - restoring a claim from a VolumeSnapshot, end
# to end. The cluster has the snapshot CRDs but no snapshot controller, so
# the tests play its part: the driver cuts the snapshot (csi-call snapshot),
# and the tests create a pre-provisioned VolumeSnapshotContent and its
# VolumeSnapshot and set both statuses as the controller would. Our daemon
# must pass the snapshot to CreateVolume (the driver's state file records
# the source), protect the snapshot with its finalizer only while restoring,
# and refuse, with a Warning event that says why, a snapshot that is not
# ready, one of another driver, or one larger than the claim.

SNAP_CSI_CALL=${BIN%/*}/tests/tools/csi-call/csi-call
SNAP_FINALIZER=provisioner.storage.kubernetes.io/volumesnapshot-as-source-protection

snap_csi() { "$SNAP_CSI_CALL" "$CSI_ENDPOINT" "$@"; }

# snap_cut VOLUME_ID NAME - cut a snapshot with the driver; prints its id.
snap_cut() {
  local out id
  out=$(snap_csi snapshot "$1" "$2") || fail "csi-call snapshot $1 $2 failed"
  echo "csi-call: $out" >&2
  [[ $out =~ ^snapshot_id=([^ ]+)\ size_bytes=([0-9]+)\ ready=(true|false)$ ]] ||
    fail "unexpected csi-call snapshot output: $out"
  id=${BASH_REMATCH[1]}
  [[ ${BASH_REMATCH[3]} == true ]] || fail "the driver's snapshot $id is not ready"
  jq -e --arg id "$id" --arg v "$1" '.snapshots[$id].sourceVolume == $v' \
    "$CLUSTER_DIR/hostpath-state/state.json" >/dev/null ||
    fail "the driver does not record snapshot $id of volume $1"
  echo "$id"
}

# snap_volume NAME BYTES - a volume made directly with the driver; prints its id.
snap_volume() {
  local out
  out=$(snap_csi create "$1" "$2") || fail "csi-call create $1 failed"
  [[ $out =~ volume_id=([^ ]+) ]] || fail "unexpected csi-call create output: $out"
  echo "${BASH_REMATCH[1]}"
}

# snap_objects NAMESPACE SNAPSHOT CONTENT DRIVER HANDLE [SOURCE-MODE] - a
# pre-provisioned VolumeSnapshotContent (Retain) of a SOURCE-MODE volume
# (default Filesystem) and the VolumeSnapshot bound to it.
snap_objects() {
  k apply -f - <<YAML
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata:
  name: $3
spec:
  driver: $4
  deletionPolicy: Retain
  sourceVolumeMode: ${6:-Filesystem}
  source:
    snapshotHandle: $5
  volumeSnapshotRef:
    name: $2
    namespace: $1
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: $2
  namespace: $1
spec:
  source:
    volumeSnapshotContentName: $3
YAML
}

# snap_status NAMESPACE SNAPSHOT CONTENT HANDLE READY RESTORE_BYTES - what
# the snapshot controller writes once the content is bound (and ready).
snap_status() {
  k patch "volumesnapshotcontent/$3" --subresource=status --type=merge -p \
    "{\"status\":{\"snapshotHandle\":\"$4\",\"readyToUse\":$5,\"restoreSize\":$6}}" >/dev/null
  k patch -n "$1" "volumesnapshot/$2" --subresource=status --type=merge -p \
    "{\"status\":{\"boundVolumeSnapshotContentName\":\"$3\",\"readyToUse\":$5,\"restoreSize\":\"$6\"}}" >/dev/null
}

# snap_claim NAMESPACE NAME CLASS SNAPSHOT SIZE - a claim restored from SNAPSHOT.
snap_claim() {
  claim_from "$1" "$2" "$3" "$5" dataSource snapshot.storage.k8s.io VolumeSnapshot "$4"
}

snap_finalizers() { k get -n "$1" "volumesnapshot/$2" -o jsonpath='{.metadata.finalizers}'; }

snap_unprotected() { [[ $(snap_finalizers "$1" "$2") != *"$SNAP_FINALIZER"* ]]; }

# snap_refused NAMESPACE CLAIM SNAPSHOT PATTERN - the claim got a
# ProvisioningFailed event matching PATTERN and nothing else happened: it is
# Pending without a volume or our mark, and the snapshot carries no finalizer.
snap_refused() {
  wait_until 30 "a ProvisioningFailed event on $1/$2 matching '$4'" \
    event_says "$1" "$2" ProvisioningFailed "$4"
  [[ $(k get -n "$1" "pvc/$2" -o jsonpath='{.status.phase}') == Pending ]] || fail "$1/$2 is not Pending"
  [[ -z $(pv_of "$1" "$2") ]] || fail "$1/$2 got a volume"
  claim_unmarked "$1" "$2" || fail "$1/$2 carries our mark though nothing was sent to the driver"
  snap_unprotected "$1" "$3" || fail "snapshot $1/$3 kept our finalizer after a refusal"
}

# snap_cleanup NAMESPACE SNAPSHOT CONTENT SNAPSHOT_ID [VOLUME_ID] - remove
# the API objects (a finalizer left behind would block this) and what the
# tests made directly in the driver.
snap_cleanup() {
  k delete -n "$1" "volumesnapshot/$2" --wait=false >/dev/null
  k wait -n "$1" "volumesnapshot/$2" --for=delete --timeout=30s >/dev/null
  k delete "volumesnapshotcontent/$3" --timeout=30s >/dev/null
  snap_csi delete-snapshot "$4" >/dev/null || fail "csi-call delete-snapshot $4 failed"
  if [[ -n ${5:-} ]]; then
    snap_csi delete "$5" >/dev/null || fail "csi-call delete $5 failed"
  fi
}

# A claim restored from a ready snapshot of our driver is Bound to a new
# volume whose content source is that snapshot; our finalizer protects the
# snapshot during the restore and is gone afterwards.
test_snapshot_restore() {
  local pv vol snap_id new_pv new_vol
  new_namespace snap1
  make_class snap1-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  make_claim snap1 src snap1-class 1Mi
  wait_bound snap1 src
  pv=$(pv_of snap1 src)
  vol=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  snap_id=$(snap_cut "$vol" snap1-src-snapshot)
  snap_objects snap1 snap snap1-content "$CSI_DRIVER_NAME" "$snap_id"
  snap_status snap1 snap snap1-content "$snap_id" true 1048576

  # Every change to the snapshot's finalizers, from before the restore on.
  k get -n snap1 volumesnapshot/snap -w -o jsonpath='{.metadata.resourceVersion} {.metadata.finalizers}{"\n"}' \
    >"$TEST_DIR/finalizers.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-watch.pid"   # stopped with the daemons if the test fails
  wait_until 30 "the snapshot watch to start" test -s "$TEST_DIR/finalizers.log"

  snap_claim snap1 restored snap1-class snap 1Mi
  wait_bound snap1 restored
  new_pv=$(pv_of snap1 restored)
  new_vol=$(jp "pv/$new_pv" '{.spec.csi.volumeHandle}')
  [[ $new_vol != "$vol" ]] || fail "the restore reused the source volume"
  jq -e --arg id "$new_vol" --arg s "$snap_id" '.volumes[$id].sourceSnapshot == $s' \
    "$CLUSTER_DIR/hostpath-state/state.json" >/dev/null ||
    fail "the driver did not create $new_vol from snapshot $snap_id: $(jq -c --arg id "$new_vol" '.volumes[$id]' "$CLUSTER_DIR/hostpath-state/state.json")"
  wait_until 30 "a ProvisioningSucceeded event" event_says snap1 restored ProvisioningSucceeded "$new_pv"

  wait_until 30 "our finalizer to leave the snapshot" snap_unprotected snap1 snap
  grep -q "$SNAP_FINALIZER" "$TEST_DIR/finalizers.log" ||
    fail "the snapshot was never protected while restoring: $(cat "$TEST_DIR/finalizers.log")"
  kill "$(cat "$TEST_DIR/daemon-watch.pid")"
  wait "$(cat "$TEST_DIR/daemon-watch.pid")" 2>/dev/null || true
  rm -f "$TEST_DIR/daemon-watch.pid"

  snap_cleanup snap1 snap snap1-content "$snap_id"
  k delete -n snap1 pvc/restored pvc/src --wait=false >/dev/null
  k wait "pv/$new_pv" "pv/$pv" --for=delete --timeout=60s
  driver_lacks_volume "$new_vol" || fail "restored volume $new_vol left in the driver"
  finish_namespace snap1
  stop_daemon main
}

# A snapshot that is not ready yet is refused; once it is, the retry restores.
test_snapshot_not_ready_refused() {
  local vol snap_id pv
  new_namespace snap2
  make_class snap2-class Delete
  vol=$(snap_volume snap2-src 1048576)
  snap_id=$(snap_cut "$vol" snap2-snapshot)
  snap_objects snap2 snap snap2-content "$CSI_DRIVER_NAME" "$snap_id"
  snap_status snap2 snap snap2-content "$snap_id" false 1048576
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  snap_claim snap2 restored snap2-class snap 1Mi
  snap_refused snap2 restored snap 'snapshot snap2/snap is not ready to use yet'
  snap_status snap2 snap snap2-content "$snap_id" true 1048576
  wait_bound snap2 restored
  wait_until 30 "our finalizer to leave the snapshot" snap_unprotected snap2 snap
  pv=$(pv_of snap2 restored)
  snap_cleanup snap2 snap snap2-content "$snap_id" "$vol"
  k delete -n snap2 pvc/restored --wait=false >/dev/null
  k wait "pv/$pv" --for=delete --timeout=60s
  finish_namespace snap2
  stop_daemon main
}

# A snapshot whose content another driver made cannot be restored by ours.
test_snapshot_of_another_driver_refused() {
  local vol snap_id
  new_namespace snap3
  make_class snap3-class Delete
  vol=$(snap_volume snap3-src 1048576)
  snap_id=$(snap_cut "$vol" snap3-snapshot)
  snap_objects snap3 snap snap3-content other.csi.example.com "$snap_id"
  snap_status snap3 snap snap3-content "$snap_id" true 1048576
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  snap_claim snap3 restored snap3-class snap 1Mi
  snap_refused snap3 restored snap "was taken by driver other.csi.example.com, not $CSI_DRIVER_NAME"
  k delete -n snap3 pvc/restored --timeout=30s >/dev/null
  snap_cleanup snap3 snap snap3-content "$snap_id" "$vol"
  finish_namespace snap3
  stop_daemon main
}

# A claim smaller than the snapshot's restore size is refused.
test_snapshot_larger_than_claim_refused() {
  local vol snap_id
  new_namespace snap4
  make_class snap4-class Delete
  vol=$(snap_volume snap4-src 2097152)
  snap_id=$(snap_cut "$vol" snap4-snapshot)
  snap_objects snap4 snap snap4-content "$CSI_DRIVER_NAME" "$snap_id"
  snap_status snap4 snap snap4-content "$snap_id" true 2097152
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  snap_claim snap4 restored snap4-class snap 1Mi
  snap_refused snap4 restored snap "requests 1048576 bytes, less than the snapshot's restore size 2097152"
  k delete -n snap4 pvc/restored --timeout=30s >/dev/null
  snap_cleanup snap4 snap snap4-content "$snap_id" "$vol"
  finish_namespace snap4
  stop_daemon main
}

has_snap_finalizer() { ! snap_unprotected "$1" "$2"; }

# The driver refuses a restore the checks let through (no restoreSize is
# recorded, the claim is smaller than the snapshot): our finalizer protects
# the snapshot while the claim is pending, and goes when the claim does.
test_snapshot_finalizer_released_when_claim_deleted() {
  local vol snap_id
  new_namespace snap5
  make_class snap5-class Delete
  vol=$(snap_volume snap5-src 2097152)
  snap_id=$(snap_cut "$vol" snap5-snapshot)
  snap_objects snap5 snap snap5-content "$CSI_DRIVER_NAME" "$snap_id"
  k patch "volumesnapshotcontent/snap5-content" --subresource=status --type=merge -p \
    "{\"status\":{\"snapshotHandle\":\"$snap_id\",\"readyToUse\":true}}" >/dev/null
  k patch -n snap5 volumesnapshot/snap --subresource=status --type=merge -p \
    '{"status":{"boundVolumeSnapshotContentName":"snap5-content","readyToUse":true}}' >/dev/null
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  snap_claim snap5 restored snap5-class snap 1Mi
  wait_until 30 "the driver's refusal" event_says snap5 restored ProvisioningFailed 'failed to provision'
  has_snap_finalizer snap5 snap || fail "no finalizer on the snapshot during the restore"
  k delete -n snap5 pvc/restored --timeout=60s >/dev/null
  wait_until 30 "our finalizer to leave the snapshot" snap_unprotected snap5 snap
  snap_cleanup snap5 snap snap5-content "$snap_id" "$vol"
  finish_namespace snap5
  stop_daemon main
}
