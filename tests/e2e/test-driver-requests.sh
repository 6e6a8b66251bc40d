# tests/e2e/test-driver-requests.sh - what the driver is asked, and how the
# daemon treats its answers: csi-faultproxy (see test-csi.sh for the fp_*
# helpers) sits between our daemon and the cluster's driver, records every
# request and injects faults.

# The driver receives exactly the request the class and claim describe.
test_driver_gets_exact_request() {
  trap csi_cleanup EXIT
  new_namespace req1
  k create secret generic -n req1 prov --from-literal=password=hunter2 >/dev/null
  make_class req1-class Delete 'parameters:
  replicas: "3"
  csi.storage.k8s.io/fstype: xfs
  csi.storage.k8s.io/provisioner-secret-name: prov
  csi.storage.k8s.io/provisioner-secret-namespace: req1
mountOptions: [noatime, nodiratime]'
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --extra-create-metadata
  make_claim req1 data req1-class 3Mi ReadWriteMany
  wait_bound req1 data
  local uid pv
  uid=$(k get -n req1 pvc/data -o jsonpath='{.metadata.uid}')
  pv=pvc-$uid
  fp_jq --arg pv "$pv" '[.[] | select(.name == "CreateVolume" and .request.name == $pv)] |
      length == 1 and (.[0].request |
      .name == $pv and .capacity_range.required_bytes == 3145728 and
      (.capacity_range.limit_bytes // 0) == 0 and
      .parameters == {"replicas": "3", "csi.storage.k8s.io/pvc/name": "data",
                      "csi.storage.k8s.io/pvc/namespace": "req1", "csi.storage.k8s.io/pv/name": $pv} and
      .secrets == {"password": "<redacted>"} and
      (.volume_capabilities | length == 1) and
      .volume_capabilities[0].mount.fs_type == "xfs" and
      .volume_capabilities[0].mount.mount_flags == ["noatime", "nodiratime"] and
      .volume_capabilities[0].access_mode.mode == "MULTI_NODE_MULTI_WRITER")'
  [[ $(jp pv/$pv '{.spec.csi.fsType}') == xfs ]] || fail "PV fsType"
  [[ $(jp pv/$pv '{.spec.mountOptions[*]}') == "noatime nodiratime" ]] || fail "PV mountOptions"
  ! grep -rq hunter2 "$TEST_DIR" || fail "the secret's value was written somewhere"
  k delete -n req1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  fp_jq --arg pv "$pv" '[.[] | select(.name == "DeleteVolume")] | map(select(.request.secrets ==
      {"password": "<redacted>"})) | length == 1'
  finish_namespace req1
}

# A failing DeleteVolume is retried until it works, with a Warning event.
test_failing_delete_is_retried() {
  trap csi_cleanup EXIT
  new_namespace del1
  make_class del1-class Delete
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  make_claim del1 data del1-class
  wait_bound del1 data
  local pv handle
  pv=$(pv_of del1 data)
  handle=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  fp_rules "DeleteVolume fail code=INTERNAL message=\"backend busy\" count=2"
  k delete -n del1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  # (other tests' leftovers may be deleted through the proxy too: count ours only)
  fp_jq --arg id "$handle" '[.[] | select(.name == "DeleteVolume" and .request.volume_id == $id)] |
      length == 3 and .[0].code_name == "Internal" and .[1].code_name == "Internal"
      and .[2].code_name == "OK"'
  wait_until 30 "a VolumeFailedDelete event" event_says default "$pv" VolumeFailedDelete 'backend busy'
  finish_namespace del1
}

# InvalidArgument is infeasible: an event says so and the next try waits
# for --retry-interval-max instead of the short backoff.
test_infeasible_request_waits_longer() {
  trap csi_cleanup EXIT
  new_namespace inf1
  make_class inf1-class Delete
  fp_start
  fp_rules 'CreateVolume fail code=INVALID_ARGUMENT message="unsupported replicas" count=1'
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=5s
  local t0
  make_claim inf1 data inf1-class
  wait_until 30 "the first CreateVolume" fp_count_at_least CreateVolume done 1
  t0=$SECONDS
  wait_until 30 "the infeasible event" event_says inf1 data ProvisioningFailed 'infeasible'
  wait_bound inf1 data 60
  # the short backoff would have retried after 1 s; the infeasible delay is 5 s
  (( SECONDS - t0 >= 4 )) || fail "retried after $((SECONDS - t0)) s, sooner than --retry-interval-max"
  finish_namespace inf1
}

# A driver that reports less than was asked: the volume is deleted again and
# the claim stays Pending with an event that says why.
test_undersized_volume_is_refused() {
  new_namespace small1
  make_class small1-class Delete
  start_private_driver --undersize-bytes=4096
  start_daemon main --csi-address="$PRIVATE_ENDPOINT" --retry-interval-start=1s \
    --retry-interval-max=2s
  make_claim small1 data small1-class 1Mi
  wait_until 30 "the capacity event" event_says small1 data ProvisioningFailed \
    'created volume capacity 1044480 less than requested capacity 1048576'
  wait_until 30 "the undersized volume to be deleted" \
    jq -e '(.volumes // {}) | length == 0' "$TEST_DIR/drv/state/state.json"
  [[ $(k get -n small1 pvc/data -o jsonpath='{.status.phase}') == Pending ]] || fail "not Pending"
  finish_namespace small1
  stop_daemon main
  stop_daemon driver
}

claim_gone() { ! k get -n "$1" "pvc/$2" >/dev/null 2>&1; }

# Upstream's leak (#486): the driver created the volume but the caller saw
# DEADLINE_EXCEEDED; the claim is deleted before any PV exists. The intent
# stays in the journal until the volume is found by name and deleted.
test_timeout_then_claim_deleted_leaves_no_volume() {
  trap csi_cleanup EXIT
  new_namespace leak1
  make_class leak1-class Delete
  fp_start
  fp_rules 'CreateVolume timeout'
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  make_claim leak1 data leak1-class
  local uid name
  uid=$(k get -n leak1 pvc/data -o jsonpath='{.metadata.uid}')
  name=pvc-$uid
  wait_until 30 "the driver to create $name" driver_has_name "$name"
  k delete -n leak1 pvc/data --wait=false >/dev/null
  wait_until 30 "the claim to go" claim_gone leak1 data
  # while the driver keeps timing out, the intent must stay
  local before
  before=$(fp_count CreateVolume done)
  wait_until 30 "another doubtful CreateVolume" fp_count_at_least CreateVolume done $((before + 1))
  journal_has "$name" || fail "the intent of $name went while its volume is unaccounted for"
  fp_rules ''
  wait_until 60 "the driver to delete $name" driver_lacks_name "$name"
  wait_until 30 "the intent of $name to go" journal_lacks "$name"
  finish_namespace leak1
}

# The same with the sidecar killed (-9) right after the driver created the
# volume, and restarted after the claim was deleted: still no leak.
test_daemon_killed_then_claim_deleted_leaves_no_volume() {
  trap csi_cleanup EXIT
  new_namespace leak2
  make_class leak2-class Delete
  fp_start
  fp_rules 'CreateVolume timeout'
  start_daemon first --csi-address="$FP_ENDPOINT"
  make_claim leak2 data leak2-class
  local uid name
  uid=$(k get -n leak2 pvc/data -o jsonpath='{.metadata.uid}')
  name=pvc-$uid
  wait_until 30 "the driver to create $name" driver_has_name "$name"
  kill -9 "$(cat "$TEST_DIR/daemon-first.pid")"
  rm -f "$TEST_DIR/daemon-first.pid"
  k delete -n leak2 pvc/data --wait=false >/dev/null
  wait_until 30 "the claim to go" claim_gone leak2 data
  fp_rules ''
  journal_has "$name" || fail "the intent of $name went with the daemon"
  start_daemon second --csi-address="$FP_ENDPOINT"
  wait_until 60 "the driver to delete $name" driver_lacks_name "$name"
  wait_until 30 "the intent of $name to go" journal_lacks "$name"
  finish_namespace leak2
}

# --volume-accounting=false: upstream's behaviour, no journal and no mark on
# the claim (the #486 leak is possible again).
test_volume_accounting_off_never_marks() {
  trap csi_cleanup EXIT
  new_namespace acc1
  make_class acc1-class Delete
  fp_start
  fp_rules 'CreateVolume hold'
  start_daemon main --csi-address="$FP_ENDPOINT" --volume-accounting=false
  make_claim acc1 data acc1-class
  wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  claim_unmarked acc1 data || fail "the claim was marked with --volume-accounting=false"
  [[ -z $(k get leases -n "$(journal_ns)" -l csi-provisioner.dev/journal -o name) ]] ||
    fail "a journal exists with --volume-accounting=false"
  fp_rules ''
  wait_bound acc1 data
  claim_unmarked acc1 data || fail "the claim carries our mark"
  finish_namespace acc1
}
