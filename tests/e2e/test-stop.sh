# shellcheck shell=bash
# test-stop.sh - SIGTERM at a low client-side rate (--kube-api-qps=1): the
# daemon stops at once, requests still waiting for tokens give up
# (kube_client_close), and the next start finishes every claim, with no
# volume lost or made twice.

test_stop_at_low_qps_is_prompt_and_loses_nothing() {
  trap csi_cleanup EXIT
  local n=20 i pid t0 took name
  new_namespace st1
  make_class st1-class Delete
  fp_start
  fp_rules 'CreateVolume delay 4s'
  start_daemon a --csi-address="$FP_ENDPOINT" --kube-api-qps=1 --kube-api-burst=1 \
    --retry-interval-start=500ms --retry-interval-max=2s
  pid=$(cat "$TEST_DIR/daemon-a.pid")
  wait_log a 60 "running"
  # shellcheck disable=SC2046
  make_claims st1 st1-class $(seq -f 'c%g' 0 $((n - 1))) >/dev/null
  # at one request a second, twenty claims' PVs alone take 20 s after their
  # CreateVolume calls return (measured: 5 s to stop; without
  # kube_client_close 12 s were not enough): the stop must not wait for them
  wait_until 60 "CreateVolume calls in flight" fp_in_flight_at_least CreateVolume 10
  t0=$SECONDS
  kill -TERM "$pid"
  wait_until 15 "daemon a to stop after SIGTERM" process_gone "$pid"
  took=$((SECONDS - t0))
  rm -f "$TEST_DIR/daemon-a.pid"
  wait "$pid" || fail "daemon a exited $? after SIGTERM"
  echo "stopped ${took}s after SIGTERM"
  grep -q "received SIGTERM" "$TEST_DIR/daemon-a.log" || fail "no orderly stop logged"
  fp_rules ''
  start_daemon b --csi-address="$FP_ENDPOINT"
  wait_until 120 "all $n claims Bound" claims_bound st1 "$n"
  for ((i = 0; i < n; i++)); do
    name=pvc-$(claim_uid st1 "c$i")
    [[ $(driver_ids "$name" | wc -l) == 1 ]] || fail "want exactly one volume $name"
  done
  wait_until 60 "the journal to empty" journal_empty
  finish_namespace st1
  stop_daemon b
  fp_stop
}
