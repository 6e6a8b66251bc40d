# tests/e2e/test-noleak.sh - the intent journal keeps every volume accounted
# for: nothing a tenant writes on a claim steers a volume name; a kill -9 of
# the daemon at any point, with the claim kept or deleted meanwhile, ends
# with exactly the volumes that have PVs; a claim re-created while its
# CreateVolume is in flight (upstream #1469); a leader killed mid-batch.
# Uses the fault proxy helpers of test-csi.sh.

# volume_matches_pv NAME - the driver holds volume NAME exactly when PV NAME exists.
volume_matches_pv() {
  if k get "pv/$1" >/dev/null 2>&1; then driver_has_name "$1"; else driver_lacks_name "$1"; fi
}

claim_uid() { k get -n "$1" "pvc/$2" -o jsonpath='{.metadata.uid}'; }

# steering_claim NAME VOLUME - a claim of class nl1-del in nl1 that names
# VOLUME in our old annotation and carries our old finalizer.
steering_claim() {
  k create -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $1
  namespace: nl1
  annotations:
    csi-provisioner.dev/volume-name: $2
    csi-provisioner.dev/create-in-doubt: "true"
  finalizers: [csi-provisioner.dev/volume-accounting]
spec:
  storageClassName: nl1-del
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
}

# A tenant annotates a claim with another claim's volume name (the volume of
# a Retain PV an admin removed) and adds our old finalizer: the claim gets a
# volume of its own, and deleting it leaves the other volume alone. (The
# claims are made with `create`: `apply` would copy the annotations into
# last-applied-configuration.)
test_noleak_tenant_cannot_steer_volume_name() {
  new_namespace nl1
  make_class nl1-keep Retain
  make_class nl1-del Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=2
  make_claim nl1 a nl1-keep
  wait_bound nl1 a
  local pva handle_a pvb
  pva=$(pv_of nl1 a)
  handle_a=$(jp "pv/$pva" '{.spec.csi.volumeHandle}')
  k delete -n nl1 pvc/a --wait=true >/dev/null
  k delete "pv/$pva" --wait=true >/dev/null
  driver_has_volume "$handle_a" || fail "the Retain volume is gone"
  steering_claim b "$pva"
  wait_bound nl1 b
  pvb=$(pv_of nl1 b)
  [[ $pvb == "pvc-$(claim_uid nl1 b)" ]] || fail "claim b got volume $pvb, not its own"
  [[ $(jp "pv/$pvb" '{.spec.csi.volumeHandle}') != "$handle_a" ]] || fail "b was handed a's volume"
  wait_until 30 "the old mark to leave b" claim_unmarked nl1 b
  k delete -n nl1 pvc/b --wait=false >/dev/null
  k wait "pv/$pvb" --for=delete --timeout=60s >/dev/null
  driver_has_volume "$handle_a" || fail "deleting b destroyed a's volume"

  # the same with a claim deleted before anything was provisioned for it
  steering_claim c "$pva"
  k delete -n nl1 pvc/c --wait=false >/dev/null
  wait_until 60 "claim c to go" claim_gone nl1 c
  driver_has_volume "$handle_a" || fail "settling c destroyed a's volume"
  wait_until 30 "the journal to empty" journal_empty
  finish_namespace nl1
  stop_daemon main
  remove_volume "$pva"
}

# Grant or take away the provisioner identity's right to create PVs (admin),
# leaving the rule's other verbs as they are.
pv_create_allowed() {
  local rules idx verbs
  rules=$(k get clusterrole csi-provisioner-runner -o json)
  idx=$(jq '.rules | map(.resources | index("persistentvolumes") != null) | index(true)' <<<"$rules")
  # the role's own verbs with "create" added or removed (back to rbac.yaml's)
  if [[ $1 == yes ]]; then
    verbs=$(jq -c --argjson i "$idx" '.rules[$i].verbs - ["create"] + ["create"]' <<<"$rules")
  else
    verbs=$(jq -c --argjson i "$idx" '.rules[$i].verbs - ["create"]' <<<"$rules")
  fi
  k patch clusterrole csi-provisioner-runner --type=json \
    -p "[{\"op\":\"replace\",\"path\":\"/rules/$idx/verbs\",\"value\":$verbs}]" >/dev/null
}

noleak_cleanup() {
  pv_create_allowed yes
  csi_cleanup
}

pv_create_denied_logged() { grep -q "saving PersistentVolume .* failed" "$TEST_DIR/daemon-$1.log"; }

# kill_at POINT KEEP: provision one claim, kill -9 the daemon at POINT, keep
# the claim or delete it (with its namespace), start a new daemon, and check
# that the driver ends with the volume exactly when its PV exists and that
# the journal empties.
#   held      the intent is durable, CreateVolume is held in the fault proxy
#   doubtful  the driver created the volume, the daemon was told DeadlineExceeded
#   unsaved   CreateVolume returned, the PV cannot be created (RBAC)
#   saved     the PV was just created; the intent's removal may be pending
kill_at() {
  trap noleak_cleanup EXIT
  local point=$1 keep=$2 ns=nl-$1-$2 uid name
  new_namespace "$ns"
  make_class "$ns-class" Delete
  fp_start
  [[ $point == held ]] && fp_rules 'CreateVolume hold'
  [[ $point == doubtful ]] && fp_rules 'CreateVolume timeout'
  [[ $point == unsaved ]] && pv_create_allowed no
  start_daemon first --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  wait_log first 30 "running"
  make_claim "$ns" data "$ns-class"
  uid=$(claim_uid "$ns" data)
  name=pvc-$uid
  case $point in
    held) wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1 ;;
    doubtful) wait_until 30 "the driver to create $name" driver_has_name "$name" ;;
    unsaved) wait_until 30 "the PV save to fail" pv_create_denied_logged first
             driver_has_name "$name" || fail "no volume before the kill" ;;
    saved) wait_until 30 "the PV" k get "pv/$name" ;;
  esac
  [[ $point == saved ]] || journal_has "$name" || fail "no intent for $name at the kill"
  kill -9 "$(cat "$TEST_DIR/daemon-first.pid")"
  rm -f "$TEST_DIR/daemon-first.pid"
  fp_rules ''
  pv_create_allowed yes
  if [[ $keep == deleted ]]; then
    k delete namespace "$ns" --wait=false >/dev/null
    k wait "namespace/$ns" --for=delete --timeout=90s >/dev/null
  fi
  start_daemon second --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  if [[ $keep == kept ]]; then
    wait_bound "$ns" data 60
    [[ $(driver_ids "$name" | wc -l) == 1 ]] || fail "want exactly one volume $name"
    k delete namespace "$ns" --wait=false >/dev/null
    k wait "namespace/$ns" --for=delete --timeout=90s >/dev/null
  fi
  wait_until 90 "the Delete PV of $ns to go" no_delete_pvs_of "$ns"
  wait_until 60 "the driver to hold no volume $name" driver_lacks_name "$name"
  wait_until 30 "the journal to empty" journal_empty
  stop_daemon second
  fp_stop
}

test_noleak_kill_held_kept() { kill_at held kept; }
test_noleak_kill_held_deleted() { kill_at held deleted; }
test_noleak_kill_doubtful_kept() { kill_at doubtful kept; }
test_noleak_kill_doubtful_deleted() { kill_at doubtful deleted; }
test_noleak_kill_unsaved_kept() { kill_at unsaved kept; }
test_noleak_kill_unsaved_deleted() { kill_at unsaved deleted; }
test_noleak_kill_saved_kept() { kill_at saved kept; }
test_noleak_kill_saved_deleted() { kill_at saved deleted; }

# Upstream #1469: the claim is deleted while its CreateVolume is in flight
# and a claim of the same name is created at once. Each gets what it is
# owed: the first volume is deleted, the new claim is bound to its own.
test_noleak_claim_recreated_while_create_in_flight() {
  trap csi_cleanup EXIT
  local old new
  new_namespace nl2
  make_class nl2-class Delete
  fp_start
  fp_rules 'CreateVolume hold count=1'
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  make_claim nl2 data nl2-class
  old=pvc-$(claim_uid nl2 data)
  wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  k delete -n nl2 pvc/data --wait=true >/dev/null
  make_claim nl2 data nl2-class
  new=pvc-$(claim_uid nl2 data)
  fp_rules ''
  wait_bound nl2 data 60
  [[ $(pv_of nl2 data) == "$new" ]] || fail "the new claim is not bound to its own volume"
  wait_until 60 "the old claim's volume to go" driver_lacks_name "$old"
  wait_until 60 "the old claim's PV to go" volume_matches_pv "$old"
  [[ $(driver_ids "$new" | wc -l) == 1 ]] || fail "want exactly one volume $new"
  wait_until 30 "the journal to empty" journal_empty
  finish_namespace nl2
  stop_daemon main
  fp_stop
}

fp_in_flight_at_least() { (($(fp_count "$1" seen) - $(fp_count "$1" done) >= $2)); }

claims_bound() {
  [[ $(k get -n "$1" pvc -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' |
       grep -c '^Bound$') == "$2" ]]
}

# Two replicas with leader election; the leader is killed -9 while a batch
# of CreateVolume calls is slowed down in the proxy: the new leader finishes
# every claim, no volume is left without a PV, and the journal empties.
test_noleak_leader_killed_mid_batch() {
  trap csi_cleanup EXIT
  local n=12 i le
  new_namespace nl3
  make_class nl3-class Delete
  fp_start
  fp_rules 'CreateVolume delay 3s'
  le="--leader-election --leader-election-lease-duration=4s --leader-election-renew-deadline=3s
    --leader-election-retry-period=500ms --retry-interval-start=500ms --retry-interval-max=2s"
  # shellcheck disable=SC2086
  start_daemon a --csi-address="$FP_ENDPOINT" $le
  wait_log a 30 "leads via lease"
  # shellcheck disable=SC2086
  start_daemon b --csi-address="$FP_ENDPOINT" $le
  wait_log b 30 "candidate for lease"
  # all at once: one by one under load, each was done before the next came
  # shellcheck disable=SC2046
  make_claims nl3 nl3-class $(seq -f 'c%g' 0 $((n - 1))) >/dev/null
  wait_until 30 "CreateVolume calls in flight" fp_in_flight_at_least CreateVolume 3
  kill -9 "$(cat "$TEST_DIR/daemon-a.pid")"
  rm -f "$TEST_DIR/daemon-a.pid"
  [[ -n $(journal_keys) ]] || fail "no intents in the journal at the kill"
  fp_rules ''
  wait_log b 30 "leads via lease"
  wait_until 90 "all $n claims Bound" claims_bound nl3 "$n"
  for ((i = 0; i < n; i++)); do
    local name
    name=pvc-$(claim_uid nl3 "c$i")
    [[ $(driver_ids "$name" | wc -l) == 1 ]] || fail "want exactly one volume $name"
  done
  wait_until 30 "the journal to empty" journal_empty
  [[ $(k get leases -n "$(journal_ns)" -l csi-provisioner.dev/journal \
       -o jsonpath='{.items[0].metadata.annotations.csi-provisioner\.dev/journal-holder}') != "" ]] ||
    fail "the journal names no holder"
  finish_namespace nl3
  stop_daemon b
  fp_stop
}

# A PV of the claim's volume name that is not ours (made by an admin while
# CreateVolume was held): the claim is not handed that PV, a Warning says
# why, and the intent stays, so the volume the driver made is not lost.
test_noleak_foreign_pv_of_the_same_name() {
  trap csi_cleanup EXIT
  local name
  new_namespace nl4
  make_class nl4-class Delete
  fp_start
  fp_rules 'CreateVolume hold count=1'
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  make_claim nl4 data nl4-class
  name=pvc-$(claim_uid nl4 data)
  wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  k create -f - <<YAML >/dev/null
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
spec:
  capacity: {storage: 1Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: nl4-other
  csi: {driver: $CSI_DRIVER_NAME, volumeHandle: not-the-driver-volume}
YAML
  fp_rules ''
  wait_until 30 "the warning" event_says nl4 data ProvisioningFailed "is not the one"
  journal_has "$name" || fail "the intent went though no PV of ours accounts for the volume"
  [[ $(k get -n nl4 pvc/data -o jsonpath='{.spec.volumeName}') != "$name" ]] ||
    fail "the claim was bound to the foreign PV"
  # the admin removes the foreign PV: the next attempt saves ours
  k delete "pv/$name" >/dev/null
  wait_bound nl4 data 60
  [[ $(jp "pv/$name" '{.spec.csi.volumeHandle}') != not-the-driver-volume ]] || fail "foreign PV"
  wait_until 30 "the journal to empty" journal_empty
  finish_namespace nl4
  stop_daemon main
  fp_stop
}
