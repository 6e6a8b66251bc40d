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
