# tests/e2e/test-skeleton.sh - the walking skeleton: provision, bind, delete,
# retain, whitelist, configuration precedence, retries and events.

# A claim goes Bound through our daemon; the PV carries what the claim and
# class asked for; deleting the claim deletes the PV and the driver's volume.
test_claim_bound_then_deleted() {
  new_namespace sk1
  make_class sk1-delete Delete
  make_claim sk1 data sk1-delete 5Mi
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4
  wait_bound sk1 data
  local uid pv handle
  uid=$(k get -n sk1 pvc/data -o jsonpath='{.metadata.uid}')
  pv=$(pv_of sk1 data)
  [[ $pv == "pvc-$uid" ]] || fail "PV name $pv, want pvc-$uid"
  [[ $(jp pv/$pv '{.spec.claimRef.namespace}/{.spec.claimRef.name}/{.spec.claimRef.uid}') == "sk1/data/$uid" ]] ||
    fail "claimRef does not point at the claim"
  [[ $(jp pv/$pv '{.spec.csi.driver}') == "$CSI_DRIVER_NAME" ]] || fail "wrong CSI driver"
  [[ $(jp pv/$pv '{.spec.capacity.storage}') == 5Mi ]] || fail "capacity $(jp pv/$pv '{.spec.capacity.storage}')"
  [[ $(jp pv/$pv '{.spec.accessModes[*]}') == ReadWriteOnce ]] || fail "access modes"
  [[ $(jp pv/$pv '{.spec.persistentVolumeReclaimPolicy}') == Delete ]] || fail "reclaim policy"
  [[ $(jp pv/$pv '{.spec.storageClassName}') == sk1-delete ]] || fail "class name"
  [[ $(jp pv/$pv '{.spec.volumeMode}') == Filesystem ]] || fail "volume mode"
  [[ $(jp pv/$pv '{.metadata.annotations.pv\.kubernetes\.io/provisioned-by}') == "$CSI_DRIVER_NAME" ]] ||
    fail "provisioned-by annotation"
  [[ -n $(jp pv/$pv '{.spec.csi.volumeAttributes.storage\.kubernetes\.io/csiProvisionerIdentity}') ]] ||
    fail "no provisioner identity in volumeAttributes"
  handle=$(jp pv/$pv '{.spec.csi.volumeHandle}')
  driver_has_volume "$handle" || fail "driver has no volume $handle"
  [[ $(jp pv/$pv '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key}={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}') == "topology.hostpath.csi/node=$CSI_NODE_ID" ]] ||
    fail "PV nodeAffinity does not carry the driver's accessible topology"
  grep -q 'external-provisioner.volume.kubernetes.io/finalizer' <<<"$(jp pv/$pv '{.metadata.finalizers}')" ||
    fail "the PV lacks our finalizer"
  wait_until 30 "our mark to leave the bound claim" claim_unmarked sk1 data
  # events go out in the background, after the PV: wait for it
  wait_until 30 "a ProvisioningSucceeded event" event_says sk1 data ProvisioningSucceeded "$pv"

  # reclaim policy changed to Retain: our finalizer goes; back to Delete: it returns
  k patch "pv/$pv" --type=merge -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}' >/dev/null
  wait_until 30 "our finalizer to leave a Retain PV" pv_lacks_finalizer "$pv"
  k patch "pv/$pv" --type=merge -p '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}' >/dev/null
  wait_until 30 "our finalizer to return" pv_has_finalizer "$pv"

  k delete -n sk1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  wait_until 30 "the driver to forget volume $handle" driver_lacks_volume "$handle"
  stop_daemon main
}

# Retain: the PV is Released and stays, and so does the volume.
test_retain_keeps_volume() {
  new_namespace sk2
  make_class sk2-retain Retain
  make_claim sk2 keep sk2-retain
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=5
  wait_bound sk2 keep
  local pv handle
  pv=$(pv_of sk2 keep)
  handle=$(jp pv/$pv '{.spec.csi.volumeHandle}')
  ! grep -q 'external-provisioner' <<<"$(jp pv/$pv '{.metadata.finalizers}')" ||
    fail "a Retain PV carries our finalizer"
  k delete -n sk2 pvc/keep
  k wait "pv/$pv" --for=jsonpath='{.status.phase}'=Released --timeout=60s
  # the daemon saw the Released PV and decided to keep it
  wait_log main 30 "volume $pv: nothing to do: the reclaim policy is not Delete"
  [[ $(jp pv/$pv '{.status.phase}') == Released ]] || fail "PV is gone or changed"
  driver_has_volume "$handle" || fail "the driver's volume $handle is gone"
  stop_daemon main
  k delete "pv/$pv" --wait=true
}

# A class outside --storageclass-whitelist is left alone; one inside is served.
test_whitelist_leaves_other_classes_pending() {
  new_namespace sk3
  make_class sk3-allowed Delete
  make_class sk3-denied Delete
  make_claim sk3 denied sk3-denied
  make_claim sk3 allowed sk3-allowed
  start_daemon main --csi-address="$CSI_ENDPOINT" --storageclass-whitelist=sk3-allowed --v=5
  wait_bound sk3 allowed
  wait_log main 30 "claim sk3/denied: ignored: .*whitelist"
  [[ $(k get -n sk3 pvc/denied -o jsonpath='{.status.phase}') == Pending ]] || fail "denied claim is not Pending"
  [[ -z $(pv_of sk3 denied) ]] || fail "denied claim got a volume"
  finish_namespace sk3
  stop_daemon main
}

# The environment configures the daemon, and a flag beats its variable.
test_flag_beats_environment() {
  new_namespace sk4
  make_class sk4-class Delete
  make_claim sk4 data sk4-class
  # The environment alone points at a socket that does not exist and a wrong name;
  # the flags put both right.
  DAEMON_ENV="CSI_ENDPOINT=unix:///nonexistent/csi.sock PROVISIONER_NAME=wrong.example.com VERBOSE=2" \
    start_daemon main --csi-address="$CSI_ENDPOINT" --provisioner="$CSI_DRIVER_NAME"
  wait_bound sk4 data
  wait_log main 10 "provisioning for \"$CSI_DRIVER_NAME\""
  stop_daemon main
  # Environment only: the wrong name means the claim is not ours.
  make_claim sk4 other sk4-class
  DAEMON_ENV="CSI_ENDPOINT=$CSI_ENDPOINT PROVISIONER_NAME=wrong.example.com VERBOSE=5" \
    start_daemon envonly
  wait_log envonly 30 "claim sk4/other: ignored: the claim is not annotated for this provisioner"
  [[ $(k get -n sk4 pvc/other -o jsonpath='{.status.phase}') == Pending ]] || fail "other is not Pending"
  stop_daemon envonly
  start_daemon cleanup --csi-address="$CSI_ENDPOINT"
  finish_namespace sk4
  stop_daemon cleanup
}

# Bad configuration stops start-up with a message naming the flag and the value.
test_bad_flag_is_refused() {
  local out rc=0
  out=$("$BIN" --retry-interval-start=soon 2>&1) || rc=$?
  [[ $rc -eq 2 ]] || fail "exit code $rc, want 2"
  grep -q -- '--retry-interval-start' <<<"$out" && grep -q soon <<<"$out" || fail "message: $out"
  rc=0
  out=$(RETRY_INTERVAL=-3 "$BIN" 2>&1) || rc=$?
  [[ $rc -eq 2 ]] || fail "exit code $rc, want 2"
  grep -q RETRY_INTERVAL <<<"$out" || fail "message: $out"
  # whole outputs first: `grep -q` on a pipe may close it early (SIGPIPE, pipefail)
  out=$("$BIN" --help) || fail "--help exits $?"
  grep -q -- '--storageclass-whitelist' <<<"$out" || fail "--help lacks a flag"
  out=$("$BIN" --version) || fail "--version exits $?"
  grep -q '^csi-provisioner ' <<<"$out" || fail "--version"
}

# A class the driver cannot be asked about gets a Warning event on the claim,
# and the daemon keeps serving other claims.
test_bad_class_gets_event() {
  new_namespace sk5
  make_class sk5-bad Delete 'parameters:
  csi.storage.k8s.io/no-such-key: "x"'
  make_class sk5-good Delete
  make_claim sk5 bad sk5-bad
  make_claim sk5 good sk5-good
  start_daemon main --csi-address="$CSI_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  wait_bound sk5 good
  wait_until 30 "a ProvisioningFailed event naming the key" \
    event_says sk5 bad ProvisioningFailed 'csi.storage.k8s.io/no-such-key' 
  [[ $(k get -n sk5 pvc/bad -o jsonpath='{.status.phase}') == Pending ]] || fail "bad claim is not Pending"
  finish_namespace sk5
  stop_daemon main
}

# The driver dies (kill -9) while a claim waits; CreateVolume fails and is
# retried with backoff; once the driver is back the claim goes Bound.
test_retry_until_driver_returns() {
  new_namespace sk6
  make_class sk6-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --timeout=2s --retry-interval-start=1s \
    --retry-interval-max=4s --v=2
  wait_log main 30 "running"
  local pid
  pid=$(cat "$CLUSTER_DIR/pids/csi-driver.pid")
  kill -9 "$pid"
  wait_until 10 "the driver process to exit" process_gone "$pid"
  make_claim sk6 data sk6-class
  wait_log main 30 "claim sk6/data: CreateVolume .* failed"
  "$CLUSTER_DIR/cmd/csi-driver"
  wait_bound sk6 data 60
  finish_namespace sk6
  stop_daemon main
}
