# tests/e2e/test-split-brain.sh - two replicas, the leader cut off from the
# API server for longer than the lease: never two writers.
#
# Replica a reaches the API server through tests/tools/tcp-proxy, replica b
# directly; each talks to the driver through a csi-faultproxy of its own,
# whose record says which replica made which CSI call and when (wall clock).
# kill -STOP of the tcp-proxy freezes every connection of a, and only a's.
# Meanwhile a's driver path is open but fails every CreateVolume, so a keeps
# retrying claims from its cache with a short backoff: a replica that went
# on believing it leads would call the driver after it lost the lease, while
# b provisions the same claims.

SB_TOOLS=${BIN%/*}/tests/tools
SB_TCP_PROXY=$SB_TOOLS/tcp-proxy/tcp-proxy
SB_FAULTPROXY=$SB_TOOLS/csi-faultproxy/csi-faultproxy

# sb_fp NAME - a csi-faultproxy for one replica, at unix://$TEST_DIR/fp-NAME.sock.
sb_fp() {
  "$SB_FAULTPROXY" --listen="unix://$TEST_DIR/fp-$1.sock" --driver="$CSI_ENDPOINT" \
    --rules="$TEST_DIR/fp-$1.rules" \
    --record="$TEST_DIR/fp-$1.jsonl" --status="$TEST_DIR/fp-$1.status" \
    >"$TEST_DIR/daemon-fp-$1.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-fp-$1.pid"
  wait_until 10 "csi-faultproxy $1 to serve" test -s "$TEST_DIR/fp-$1.status"
}

# sb_log_ms NAME PATTERN - the wall-clock time (ms) of the first log line of
# daemon NAME matching PATTERN ("I1126 09:19:31.103460 ..." is UTC).
sb_log_ms() {
  local line
  line=$(grep -m1 -E -- "$2" "$TEST_DIR/daemon-$1.log") || return 1
  date -u -d "$(date -u +%Y)-${line:1:2}-${line:3:2} ${line:6:15}" +%s%3N
}

# sb_calls NAME JQ-REDUCTION - over daemon NAME's CreateVolume/DeleteVolume calls.
sb_calls() {
  jq -s "[.[] | select(.name == \"CreateVolume\" or .name == \"DeleteVolume\")] | $2" \
    "$TEST_DIR/fp-$1.jsonl"
}

# sb_fp_rules NAME RULES - put RULES in force on proxy NAME (waits until they are).
sb_fp_rules() {
  local gen
  gen=$(jq -r .rules_generation "$TEST_DIR/fp-$1.status")
  printf '%s\n' "$2" >"$TEST_DIR/fp-$1.rules.new"
  mv "$TEST_DIR/fp-$1.rules.new" "$TEST_DIR/fp-$1.rules"
  wait_until 10 "new rules on proxy $1" \
    jq -e ".rules_generation > $gen" "$TEST_DIR/fp-$1.status"
}

# the driver's volume count; its state file appears with the first volume
sb_driver_volumes() {
  if [[ -f $CLUSTER_DIR/hostpath-state/state.json ]]; then driver_volume_count; else echo 0; fi
}

sb_claims_bound() {
  local c
  for c in "$@"; do
    [[ $(k get -n sb1 "pvc/$c" -o jsonpath='{.status.phase}') == Bound ]] || return 1
  done
}

sb_a_failed_at_least() { (($(sb_calls a 'map(select(.rule == "fail")) | length') >= $1)); }

test_leader_paused_past_the_lease_never_two_writers() {
  local tp_pid a_pid rc port
  trap 'kill -CONT "$(cat "$TEST_DIR/daemon-tcpproxy.pid" 2>/dev/null)" 2>/dev/null; stop_daemons' EXIT
  new_namespace sb1
  make_class sb1-class Delete
  local volumes_before
  volumes_before=$(sb_driver_volumes)

  "$SB_TCP_PROXY" --target="${KUBE_APISERVER#https://}" --port-file="$TEST_DIR/tp.port" \
    >"$TEST_DIR/daemon-tcpproxy.log" 2>&1 &
  tp_pid=$!
  echo "$tp_pid" >"$TEST_DIR/daemon-tcpproxy.pid"
  wait_until 10 "tcp-proxy to listen" test -s "$TEST_DIR/tp.port"
  port=$(cat "$TEST_DIR/tp.port")
  sed "s#^\( *server:\).*#\1 https://127.0.0.1:$port#" "$PROVISIONER_KUBECONFIG" \
    >"$TEST_DIR/a.kubeconfig"
  sb_fp a
  sb_fp b

  # a lease of 6 s, given up after 4 s without a renewal: a 2 s margin
  local le="--leader-election --leader-election-namespace=sb1 --leader-election-lease-duration=6s
    --leader-election-renew-deadline=4s --leader-election-retry-period=500ms"
  # shellcheck disable=SC2086
  PROVISIONER_KUBECONFIG=$TEST_DIR/a.kubeconfig start_daemon a \
    --csi-address="unix://$TEST_DIR/fp-a.sock" --retry-interval-start=200ms \
    --retry-interval-max=1s $le
  a_pid=$(cat "$TEST_DIR/daemon-a.pid")
  wait_log a 30 "leads via lease"
  # shellcheck disable=SC2086
  start_daemon b --csi-address="unix://$TEST_DIR/fp-b.sock" $le
  wait_log b 30 "candidate for lease"

  local c claims=()
  for c in before-1 before-2 before-3; do make_claim sb1 "$c" sb1-class; claims+=("$c"); done
  wait_until 60 "the claims made before the pause to bind" sb_claims_bound "${claims[@]}"
  # more claims that a cannot finish, and at once a's path is frozen
  sb_fp_rules a 'CreateVolume fail code=UNAVAILABLE message="injected"'
  for c in edge-1 edge-2 edge-3 edge-4; do make_claim sb1 "$c" sb1-class; claims+=("$c"); done
  # a must be at work on them (intents recorded, the driver asked) when its path freezes
  wait_until 30 "a to try an edge claim" sb_a_failed_at_least 1
  kill -STOP "$tp_pid"
  for c in during-1 during-2 during-3; do make_claim sb1 "$c" sb1-class; claims+=("$c"); done

  # a gives up by its renew deadline and exits; only then may b lead
  wait_until 30 "daemon a to exit" process_gone "$a_pid"
  rc=0
  wait "$a_pid" || rc=$?
  rm -f "$TEST_DIR/daemon-a.pid"
  [[ $rc -eq 1 ]] || fail "daemon a exited $rc on losing the lease, not 1"
  grep -q "lease lost; exiting" "$TEST_DIR/daemon-a.log" || fail "daemon a did not say why it exited"
  wait_log b 30 "leads via lease"
  local a_lost b_leads
  a_lost=$(sb_log_ms a "no longer leads via lease") || fail "daemon a did not log the loss"
  b_leads=$(sb_log_ms b "leads via lease")
  echo "a stopped leading at $a_lost, b leads from $b_leads"
  ((a_lost < b_leads)) || fail "b led from $b_leads, before a stopped at $a_lost"

  kill -CONT "$tp_pid"
  for c in after-1 after-2 after-3; do make_claim sb1 "$c" sb1-class; claims+=("$c"); done
  wait_until 120 "every claim to bind" sb_claims_bound "${claims[@]}"

  # one writer per instant: a's last driver call ended before b's first began
  local a_calls b_calls a_last b_first a_failed
  a_calls=$(sb_calls a length)
  b_calls=$(sb_calls b length)
  a_last=$(sb_calls a 'map(.end_unix_ms) | max // 0')
  b_first=$(sb_calls b 'map(.start_unix_ms) | min // 0')
  a_failed=$(sb_calls a 'map(select(.rule == "fail")) | length')
  echo "driver calls: a $a_calls ($a_failed failed by the rule; last ended $a_last)," \
    "b $b_calls (first began $b_first)"
  ((a_failed >= 1)) || fail "a never retried the claims it could not finish"
  ((a_calls >= 3)) || fail "a made $a_calls CreateVolume/DeleteVolume calls, want the 3 before the pause"
  ((b_calls >= 3)) || fail "b made $b_calls CreateVolume/DeleteVolume calls"
  ((a_last < b_first)) || fail "driver calls overlap: a's last ended $a_last, b's first began $b_first"
  ((b_first >= b_leads)) || fail "b called the driver at $b_first, before it led at $b_leads"
  ((a_last <= a_lost + 1000)) || fail "a called the driver until $a_last, after it lost at $a_lost"

  # exactly one volume per claim: distinct handles, all in the driver, no extra volume
  local pv handle handles=()
  for c in "${claims[@]}"; do
    pv=$(pv_of sb1 "$c")
    handle=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
    driver_has_volume "$handle" || fail "claim $c: volume $handle is not in the driver"
    handles+=("$handle")
  done
  [[ $(printf '%s\n' "${handles[@]}" | sort -u | wc -l) -eq ${#claims[@]} ]] ||
    fail "claims share volumes: ${handles[*]}"
  [[ $(sb_driver_volumes) -eq $((volumes_before + ${#claims[@]})) ]] ||
    fail "the driver has $(sb_driver_volumes) volumes, want $((volumes_before + ${#claims[@]}))"

  # b deletes the volumes, then stops in order (exit 0) before the namespace
  # and its Lease go
  k delete -n sb1 pvc --all --wait=false
  wait_until 90 "the Delete PVs of sb1 to go" no_delete_pvs_of sb1
  stop_daemon b
  ! grep -q "no longer leads" "$TEST_DIR/daemon-b.log" || fail "b lost the lease"
  k delete namespace sb1 --wait=false
}
