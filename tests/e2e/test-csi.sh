# tests/e2e/test-csi.sh - the CSI client, csi-call and the daemon against a
# driver that misbehaves: csi-faultproxy (tests/tools/csi-faultproxy) runs in
# $TEST_DIR in front of the cluster's driver and injects one fault at a time;
# what the client saw is checked against what the proxy recorded and against
# the driver's own state file. Some tests kill the driver; every test leaves
# it running (later tests share it).

CSI_TOOLS=${BIN%/*}/tests/tools
CSI_CALL=$CSI_TOOLS/csi-call/csi-call
FAULTPROXY=$CSI_TOOLS/csi-faultproxy/csi-faultproxy

# ---- helpers ----

# (a function: never start it with & -- $! would be a subshell, and killing
# that would orphan csi-call; run "$CSI_CALL" itself in the background)
cc() { "$CSI_CALL" "$@"; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# fp_start - csi-faultproxy in front of the cluster's driver, with the rules in
# $TEST_DIR/fp.rules (if any). Sets FP_ENDPOINT. Stopped by fp_stop or csi_cleanup.
fp_start() {
  FP_ENDPOINT=unix://$TEST_DIR/fp.sock
  rm -f "$TEST_DIR/fp.status"
  "$FAULTPROXY" --listen="$FP_ENDPOINT" --driver="$CSI_ENDPOINT" --rules="$TEST_DIR/fp.rules" \
    --record="$TEST_DIR/fp.jsonl" --status="$TEST_DIR/fp.status" >>"$TEST_DIR/fp.log" 2>&1 &
  echo $! >"$TEST_DIR/fp.pid"
  wait_until 10 "the proxy to serve" test -s "$TEST_DIR/fp.status"
}

# fp_stop - SIGTERM by PID; the proxy must exit 0 within 10 s and remove its socket.
fp_stop() {
  local pid rc=0 deadline=$((SECONDS + 10))
  [[ -f $TEST_DIR/fp.pid ]] || return 0
  pid=$(cat "$TEST_DIR/fp.pid")
  rm -f "$TEST_DIR/fp.pid"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid"
      fail "csi-faultproxy did not stop within 10s of SIGTERM"
    fi
    sleep 0.1   # poll interval for the process to exit
  done
  wait "$pid" || rc=$?
  [[ $rc -eq 0 ]] || fail "csi-faultproxy exited $rc after SIGTERM"
  [[ ! -e $TEST_DIR/fp.sock ]] || fail "csi-faultproxy left its socket"
}

fp_generation() { jq -r .rules_generation "$TEST_DIR/fp.status"; }
fp_generation_above() { (($(fp_generation) > $1)); }

# fp_rules TEXT - replace the rules atomically and wait until they are in force.
fp_rules() {
  local gen
  gen=$(fp_generation)
  printf '%s\n' "$1" >"$TEST_DIR/fp.rules.new"
  mv "$TEST_DIR/fp.rules.new" "$TEST_DIR/fp.rules"
  wait_until 10 "the proxy to load new rules" fp_generation_above "$gen"
  [[ $(jq -r .rules_error "$TEST_DIR/fp.status") == null ]] || fail "rules refused"
}

# fp_count METHOD FIELD - seen / held / done for a method (short name).
fp_count() { jq -r --arg m "$1" ".methods[\$m].$2 // 0" "$TEST_DIR/fp.status"; }
fp_count_at_least() { (($(fp_count "$1" "$2") >= $3)); }

# fp_jq FILTER - run FILTER over the record as one array; fails when it is false/null.
fp_jq() { jq -e -s "$@" "$TEST_DIR/fp.jsonl" >/dev/null || fail "record check failed: $*"; }

driver_state() { cat "$CLUSTER_DIR/hostpath-state/state.json"; }

# driver_ids NAME - the ids of the driver's volumes called NAME, one a line.
driver_ids() { jq -r --arg n "$1" '.volumes // {} | .[] | select(.name == $n) | .id' \
  "$CLUSTER_DIR/hostpath-state/state.json"; }
driver_has_name() { [[ -n $(driver_ids "$1") ]]; }
driver_lacks_name() { ! driver_has_name "$1"; }

driver_kill() {
  local pid
  pid=$(cat "$CLUSTER_DIR/pids/csi-driver.pid")
  kill -9 "$pid"
  wait_until 10 "the driver process to exit" process_gone "$pid"
}

driver_start() {
  "$CLUSTER_DIR/cmd/csi-driver"
  wait_until 30 "the restarted driver to answer" cc --timeout=1s "$CSI_ENDPOINT" probe
}

driver_running() { kill -0 "$(cat "$CLUSTER_DIR/pids/csi-driver.pid")" 2>/dev/null; }

# csi_cleanup - the EXIT trap of every test here: background clients
# ($TEST_DIR/bg-*.pid), daemons, the proxy; then the driver must be running.
csi_cleanup() {
  local f
  for f in "$TEST_DIR"/bg-*.pid; do
    [[ -f $f ]] && kill -TERM "$(cat "$f")" 2>/dev/null
    rm -f "$f"
  done
  stop_daemons
  fp_stop || true
  driver_running || driver_start || true
}

# remove_volume NAME - delete the driver's volumes called NAME (directly).
remove_volume() {
  local id
  for id in $(driver_ids "$1"); do
    cc "$CSI_ENDPOINT" delete "$id" >/dev/null
  done
  ! driver_has_name "$1" || fail "volume $1 is still there"
}

# ---- csi-faultproxy alone, with csi-call and csi-sanity as clients ----

# csi-sanity's controller tests pass through the proxy with no rules: it is
# transparent, every call is forwarded and answered as the driver answered,
# methods outside our proto included, and secrets are recorded by key only.
test_csi_sanity_through_faultproxy() {
  trap csi_cleanup EXIT
  local before
  before=$(driver_volume_count)
  cat >"$TEST_DIR/secrets.yaml" <<'EOF'
CreateVolumeSecret:
  sanity-key: sanity-secret-value-1
DeleteVolumeSecret:
  sanity-key: sanity-secret-value-2
EOF
  fp_start
  (cd "$TEST_DIR" && "$PEERS_BIN/csi-sanity" --csi.endpoint="$FP_ENDPOINT" \
    --csi.secrets="$TEST_DIR/secrets.yaml" --csi.mountdir="$TEST_DIR/mnt" \
    --csi.stagingdir="$TEST_DIR/staging" --ginkgo.skip='Node Service' --ginkgo.no-color \
    >"$TEST_DIR/sanity.log" 2>&1) || { tail -30 "$TEST_DIR/sanity.log"; fail "csi-sanity failed through the proxy"; }
  grep -qE '[1-9][0-9]* Passed \| 0 Failed' "$TEST_DIR/sanity.log" || fail "csi-sanity summary"
  fp_jq 'length > 100 and all(.rule == "pass" and .code == .driver_code and .cancelled == false)'
  fp_jq 'any(.name == "CreateSnapshot") and any(.name == "NodeGetCapabilities")'
  fp_jq '[.[] | select(.name == "NodeGetCapabilities")] | all(.request == null and .request_error == "method not in our proto")'
  # secrets reached the driver (csi-sanity passed) but never the record
  fp_jq '[.[] | select(.name == "CreateVolume") | .request.secrets["sanity-key"]] | length > 0 and all(. == "<redacted>")'
  fp_jq '[.[] | select(.name == "DeleteVolume") | .request.secrets["sanity-key"]] | length > 0 and all(. == "<redacted>")'
  ! grep -q 'sanity-secret-value' "$TEST_DIR/fp.jsonl" || fail "a secret value is in the record"
  [[ $(driver_volume_count) == "$before" ]] || fail "csi-sanity left volumes behind"
  fp_stop
}

# same ARGS... - csi-call directly and through the proxy: stdout, stderr and
# exit status must be identical. Prints the output.
same() {
  local d_out p_out d_rc=0 p_rc=0
  d_out=$(cc "$CSI_ENDPOINT" "$@" 2>"$TEST_DIR/direct.err") || d_rc=$?
  p_out=$(cc "$FP_ENDPOINT" "$@" 2>"$TEST_DIR/proxy.err") || p_rc=$?
  [[ $d_rc == "$p_rc" ]] || fail "csi-call $*: exit $d_rc directly, $p_rc through the proxy"
  [[ $d_out == "$p_out" ]] || fail "csi-call $*: output differs: '$d_out' directly, '$p_out' through the proxy"
  cmp -s "$TEST_DIR/direct.err" "$TEST_DIR/proxy.err" ||
    fail "csi-call $*: errors differ: '$(cat "$TEST_DIR/direct.err")' vs '$(cat "$TEST_DIR/proxy.err")'"
  SAME_RC=$d_rc
  printf '%s\n' "$d_out"
}

# Every call csi-call makes gives the same answer directly and through the
# proxy, failures included; the record holds exactly the request sent.
test_csi_calls_same_direct_and_through_faultproxy() {
  trap csi_cleanup EXIT
  local out id
  fp_start
  [[ $(same probe) == ready=true ]] || fail "probe"
  # here-strings, not pipes: grep -q may close a pipe early (pipefail)
  grep -q "^name=$CSI_DRIVER_NAME " <<<"$(same info)" || fail "info"
  grep -q '^controller.create_delete_volume=true$' <<<"$(same caps)" || fail "caps"
  grep -q '^available_capacity=' <<<"$(same capacity)" || fail "capacity"
  out=$(same create csi-same-1 1048576 flavour=plain secret:token=s3cret-token)
  id=$(sed -n 's/^volume_id=\([^ ]*\) .*/\1/p' <<<"$out")
  [[ -n $id && $(driver_ids csi-same-1) == "$id" ]] || fail "create: '$out'"
  grep -qx "$id" <<<"$(same list)" || fail "list lacks $id"
  same create csi-same-2 $((2 * 1024 ** 4)) >/dev/null
  [[ $SAME_RC == 11 ]] || fail "a create above the driver's maximum gave $SAME_RC, want 11 (OutOfRange)"
  grep -q 'OutOfRange: requested' "$TEST_DIR/proxy.err" || fail "OutOfRange message: $(cat "$TEST_DIR/proxy.err")"
  same --block --fs-type=ext4 create csi-same-3 1024 >/dev/null
  [[ $SAME_RC == 100 ]] || fail "a block volume with an fs type gave $SAME_RC, want 100 (local)"
  [[ $(same delete "$id" secret:token=s3cret-token) == "deleted=$id" ]] || fail "delete"
  [[ $(same delete "$id") == "deleted=$id" ]] || fail "a second delete is not OK"
  driver_lacks_volume "$id" || fail "volume $id still exists"
  # exactly what the driver was asked
  fp_jq --arg id "$id" '[.[] | select(.name == "CreateVolume" and .request.name == "csi-same-1")] |
    length == 1 and .[0].request == {"name": "csi-same-1", "capacity_range": {"required_bytes": 1048576},
      "volume_capabilities": [{"mount": {}, "access_mode": {"mode": "SINGLE_NODE_WRITER"}}],
      "parameters": {"flavour": "plain"}, "secrets": {"token": "<redacted>"}}
    and .[0].reply.volume.volume_id == $id'
  fp_jq --arg id "$id" '[.[] | select(.name == "DeleteVolume") | .request] ==
    [{"volume_id": $id, "secrets": {"token": "<redacted>"}}, {"volume_id": $id}]'
  # the local failure never reached the proxy
  fp_jq 'all(.request.name != "csi-same-3")'
  ! grep -q 's3cret-token' "$TEST_DIR/fp.jsonl" || fail "a secret value is in the record"
  fp_stop
}

# Every status code a `fail` rule names reaches csi-call exactly, with its
# message, and the driver is not asked; `count` limits the rule.
test_csi_faultproxy_fail_rule_codes_and_messages() {
  trap csi_cleanup EXIT
  local code err rc id
  printf '%s\n' 'CreateVolume fail code=RESOURCE_EXHAUSTED message="pool \"fast\" is full" count=2' \
    >"$TEST_DIR/fp.rules"
  fp_start
  for _ in 1 2; do
    rc=0
    err=$(cc "$FP_ENDPOINT" create csi-fail-1 1048576 2>&1 >/dev/null) || rc=$?
    [[ $rc == 8 ]] || fail "exit $rc, want 8"
    [[ $err == 'csi-call: ResourceExhausted: pool "fast" is full' ]] || fail "message: $err"
    ! driver_has_name csi-fail-1 || fail "the driver was asked"
  done
  id=$(cc "$FP_ENDPOINT" create csi-fail-1 1048576 | sed -n 's/^volume_id=\([^ ]*\) .*/\1/p')
  [[ $(driver_ids csi-fail-1) == "$id" ]] || fail "the third create did not pass"
  fp_jq '[.[] | select(.name == "CreateVolume") | [.rule, .driver_code, .code]] ==
    [["fail", null, 8], ["fail", null, 8], ["pass", 0, 0]]'
  remove_volume csi-fail-1
  # every code, 1..16, with a message naming it
  for code in $(seq 1 16); do
    fp_rules "Probe fail code=$code message=\"injected $code\""
    rc=0
    err=$(cc "$FP_ENDPOINT" probe 2>&1 >/dev/null) || rc=$?
    [[ $rc == "$code" ]] || fail "code $code: csi-call exited $rc"
    [[ $err == *": injected $code" ]] || fail "code $code: message '$err'"
  done
  fp_jq '[.[] | select(.name == "Probe") | .code] == [range(1; 17)] and
    ([.[] | select(.name == "Probe") | .driver_code] | all(. == null))'
  fp_stop
}

# `delay`: the answer is the driver's, no sooner than the delay; a caller
# whose deadline is shorter gives up at its deadline and the driver is not asked.
test_csi_faultproxy_delay_rule() {
  trap csi_cleanup EXIT
  local t0 took out rc=0
  printf 'GetPluginInfo delay 1500ms\n' >"$TEST_DIR/fp.rules"
  fp_start
  t0=$(now_ms)
  out=$(cc "$FP_ENDPOINT" info)
  took=$(($(now_ms) - t0))
  [[ $out == "$(cc "$CSI_ENDPOINT" info)" ]] || fail "delayed answer differs: $out"
  ((took >= 1500 && took < 6500)) || fail "took ${took}ms, want 1500ms or a little more"
  t0=$(now_ms)
  cc --timeout=500ms "$FP_ENDPOINT" info 2>"$TEST_DIR/err" || rc=$?
  took=$(($(now_ms) - t0))
  [[ $rc == 4 ]] || fail "exit $rc, want 4 (DeadlineExceeded)"
  ((took >= 500 && took < 1500)) || fail "gave up after ${took}ms, want about 500ms"
  wait_until 10 "the proxy to record both calls" fp_count_at_least GetPluginInfo "done" 2
  fp_jq '[.[] | select(.name == "GetPluginInfo") | [.delayed_ms, .driver_code, .code, .cancelled]] ==
    [[1500, 0, 0, false], [1500, null, null, true]]'
  fp_stop
}

# `hold` without release: the caller's deadline ends the call with
# DeadlineExceeded (not sooner), and the driver never sees it.
test_csi_faultproxy_hold_ends_at_deadline() {
  trap csi_cleanup EXIT
  local t0 took rc=0
  printf 'CreateVolume hold\n' >"$TEST_DIR/fp.rules"
  fp_start
  t0=$(now_ms)
  cc --timeout=1s "$FP_ENDPOINT" create csi-hold-1 1024 2>"$TEST_DIR/err" || rc=$?
  took=$(($(now_ms) - t0))
  [[ $rc == 4 ]] || fail "exit $rc, want 4 (DeadlineExceeded)"
  grep -q '^csi-call: DeadlineExceeded' "$TEST_DIR/err" || fail "message: $(cat "$TEST_DIR/err")"
  ((took >= 1000 && took < 4000)) || fail "took ${took}ms, want about 1000ms"
  wait_until 10 "the proxy to record the call" fp_count_at_least CreateVolume "done" 1
  [[ $(fp_count CreateVolume held) == 0 ]] || fail "still counted as held"
  fp_jq '.[0] | .rule == "hold" and .released == false and .driver_code == null and .cancelled'
  ! driver_has_name csi-hold-1 || fail "the driver created a held volume"
  fp_stop
}

# `hold`, then released by a rule change: the call waits (the driver has
# nothing), then is forwarded with the caller's deadline and succeeds.
test_csi_faultproxy_hold_then_release() {
  trap csi_cleanup EXIT
  local pid rc=0
  printf 'CreateVolume hold\n' >"$TEST_DIR/fp.rules"
  fp_start
  "$CSI_CALL" --timeout=30s "$FP_ENDPOINT" create csi-hold-2 1024 >"$TEST_DIR/out" 2>&1 &
  pid=$!
  echo "$pid" >"$TEST_DIR/bg-create.pid"
  wait_until 10 "the create to be held" fp_count_at_least CreateVolume held 1
  ! driver_has_name csi-hold-2 || fail "the driver has a held volume"
  kill -0 "$pid" || fail "csi-call ended while held"
  fp_rules ''
  wait "$pid" || rc=$?
  rm -f "$TEST_DIR/bg-create.pid"
  [[ $rc == 0 ]] || fail "released create exited $rc: $(cat "$TEST_DIR/out")"
  [[ $(driver_ids csi-hold-2) == "$(sed -n 's/^volume_id=\([^ ]*\) .*/\1/p' "$TEST_DIR/out")" ]] ||
    fail "the driver's volume is not the one csi-call got"
  fp_jq '.[0] | .rule == "hold" and .released and .driver_code == 0 and .code == 0 and
    .deadline_ms > 25000 and .deadline_ms <= 30500'
  remove_volume csi-hold-2
  fp_stop
}

# `timeout`: the driver creates the volume, the caller is told
# DeadlineExceeded. The volume exists (the leak case a client must handle);
# creating again by the same name returns that very volume.
test_csi_faultproxy_timeout_rule_leaves_volume() {
  trap csi_cleanup EXIT
  local rc=0 id again
  printf 'CreateVolume timeout count=1\n' >"$TEST_DIR/fp.rules"
  fp_start
  cc "$FP_ENDPOINT" create csi-leak-1 1048576 2>"$TEST_DIR/err" || rc=$?
  [[ $rc == 4 ]] || fail "exit $rc, want 4 (DeadlineExceeded)"
  id=$(driver_ids csi-leak-1)
  [[ -n $id && $(wc -l <<<"$id") == 1 ]] || fail "want exactly one volume csi-leak-1 in the driver, have '$id'"
  fp_jq '.[0] | .rule == "timeout" and .driver_code == 0 and .code == 4 and .reply == null'
  again=$(cc "$FP_ENDPOINT" create csi-leak-1 1048576 | sed -n 's/^volume_id=\([^ ]*\) .*/\1/p')
  [[ $again == "$id" ]] || fail "the retry got $again, want $id"
  [[ $(driver_ids csi-leak-1) == "$id" ]] || fail "the retry made a second volume"
  remove_volume csi-leak-1
  fp_stop
}

# Garbage and oversized replies: csi-call exits 100 (local error) with a
# message saying what was wrong; a reply of exactly the cap is accepted.
test_csi_faultproxy_bad_replies_are_local_errors() {
  trap csi_cleanup EXIT
  local args rc err
  printf '* garbage\n' >"$TEST_DIR/fp.rules"
  fp_start
  for args in probe info caps capacity list "create csi-garbage-1 1024" "delete no-such-volume"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting of the command on purpose
    err=$(cc "$FP_ENDPOINT" $args 2>&1 >/dev/null) || rc=$?
    [[ $rc == 100 ]] || fail "$args: exit $rc, want 100"
    [[ $err == "csi-call: Local: "*"does not decode"* ]] || fail "$args: message '$err'"
  done
  fp_rules 'Probe oversize bytes=4194304
GetPluginInfo oversize bytes=4194305
CreateVolume oversize'
  cc "$FP_ENDPOINT" probe >/dev/null || fail "a reply of exactly 4 MiB was refused"
  for args in info "create csi-big-1 1024"; do
    rc=0
    # shellcheck disable=SC2086
    err=$(cc "$FP_ENDPOINT" $args 2>&1 >/dev/null) || rc=$?
    [[ $rc == 100 ]] || fail "$args: exit $rc, want 100"
    [[ $err == *"exceeds the 4194304-byte cap"* ]] || fail "$args: message '$err'"
  done
  ! driver_has_name csi-garbage-1 && ! driver_has_name csi-big-1 || fail "the driver was asked"
  fp_jq '[.[] | select(.rule == "oversize") | .reply_bytes] == [4194304, 4194305, 4195328]'
  fp_rules ''
  [[ $(cc "$FP_ENDPOINT" probe) == ready=true ]] || fail "the proxy does not pass calls any more"
  fp_stop
}

# `drop`: the caller's connection breaks (Unavailable); the next call on a
# new client works, and a client that keeps its channel reconnects.
test_csi_faultproxy_drop_rule() {
  trap csi_cleanup EXIT
  local rc=0 err
  printf 'Probe drop count=1\n' >"$TEST_DIR/fp.rules"
  fp_start
  err=$(cc --fail-fast "$FP_ENDPOINT" probe 2>&1 >/dev/null) || rc=$?
  [[ $rc == 14 ]] || fail "exit $rc, want 14 (Unavailable): $err"
  [[ $(cc --fail-fast "$FP_ENDPOINT" probe) == ready=true ]] || fail "the next probe failed"
  fp_jq '.[0] | .rule == "drop" and .dropped_connections >= 1 and .code == null'
  # one channel: dropped, then reconnected for the next probes
  fp_rules 'Probe drop count=1'
  cc "$FP_ENDPOINT" loop 3 >"$TEST_DIR/loop.out" 2>&1 || true
  grep -q '^probe 1: Unavailable: ' "$TEST_DIR/loop.out" || fail "loop: $(cat "$TEST_DIR/loop.out")"
  grep -q '^probe 2: OK ready=true connected=true$' "$TEST_DIR/loop.out" || fail "loop: $(cat "$TEST_DIR/loop.out")"
  grep -q '^probe 3: OK ready=true connected=true$' "$TEST_DIR/loop.out" || fail "loop: $(cat "$TEST_DIR/loop.out")"
  fp_stop
}

# SIGTERM with a call held: the proxy exits 0 promptly, the caller is told
# Unavailable, the driver never saw the call.
test_csi_faultproxy_stops_on_sigterm_with_call_held() {
  trap csi_cleanup EXIT
  local pid rc=0
  printf 'CreateVolume hold\n' >"$TEST_DIR/fp.rules"
  fp_start
  "$CSI_CALL" --timeout=60s "$FP_ENDPOINT" create csi-stop-1 1024 >"$TEST_DIR/out" 2>&1 &
  pid=$!
  echo "$pid" >"$TEST_DIR/bg-create.pid"
  wait_until 10 "the create to be held" fp_count_at_least CreateVolume held 1
  fp_stop
  wait "$pid" || rc=$?
  rm -f "$TEST_DIR/bg-create.pid"
  [[ $rc == 14 ]] || fail "csi-call exited $rc, want 14 (Unavailable): $(cat "$TEST_DIR/out")"
  fp_jq '.[0] | .rule == "hold" and .released == false and .driver_code == null'
  ! driver_has_name csi-stop-1 || fail "the driver created the volume"
}

# ---- the driver dies and comes back ----

loop_failed_then_recovered() {
  awk '/^probe [0-9]+: (DeadlineExceeded|Unavailable): .* connected=false$/ { f = 1 }
       f && /^probe [0-9]+: OK ready=true connected=true$/ { ok = 1 }
       END { exit !ok }' "$1"
}

# One csi-call client (one channel) probing while the driver is killed -9
# and restarted: probes fail while it is gone (not connected), then succeed
# again on the same channel.
test_csi_loop_recovers_after_driver_restart() {
  trap csi_cleanup EXIT
  local pid
  "$CSI_CALL" --timeout=2s "$CSI_ENDPOINT" loop 120 >"$TEST_DIR/loop.out" 2>&1 &
  pid=$!
  echo "$pid" >"$TEST_DIR/bg-loop.pid"
  wait_until 10 "a first probe" grep -q '^probe 1: OK ready=true connected=true$' "$TEST_DIR/loop.out"
  driver_kill
  wait_until 15 "a probe to fail" grep -qE '^probe [0-9]+: (DeadlineExceeded|Unavailable): .* connected=false$' \
    "$TEST_DIR/loop.out"
  driver_start
  wait_until 20 "a probe on the same channel to succeed" loop_failed_then_recovered "$TEST_DIR/loop.out"
  rm -f "$TEST_DIR/bg-loop.pid"
  kill -TERM "$pid"
  wait "$pid" || true
}

# The daemon, through the proxy: CreateVolume is held, the driver is killed
# -9 while the call is in flight, then the call is released into the dead
# driver and fails; the daemon retries with the same volume name until the
# restarted driver answers; one volume, bound, deleted with its claim.
test_csi_daemon_create_in_flight_when_driver_dies() {
  trap csi_cleanup EXIT
  local uid pv handle
  new_namespace cs1
  make_class cs1-class Delete
  printf 'CreateVolume hold count=1\n' >"$TEST_DIR/fp.rules"
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --timeout=5s --retry-interval-start=1s \
    --retry-interval-max=2s --v=4
  wait_log main 30 "running"
  make_claim cs1 data cs1-class
  wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  uid=$(k get -n cs1 pvc/data -o jsonpath='{.metadata.uid}')
  driver_kill
  fp_rules ''
  wait_until 30 "CreateVolume to fail twice while the driver is gone" fp_count_at_least CreateVolume "done" 2
  ! driver_has_name "pvc-$uid" || fail "the volume exists before the driver came back"
  driver_start
  wait_bound cs1 data 60
  pv=$(pv_of cs1 data)
  handle=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  [[ $(driver_ids "pvc-$uid") == "$handle" ]] || fail "want exactly one volume pvc-$uid = $handle"
  fp_jq --arg n "pvc-$uid" '[.[] | select(.name == "CreateVolume")] |
    (.[0].released and .[0].driver_code != 0 and .[0].driver_code != null) and
    all(.request.name == $n) and (.[-1].code == 0)'
  k delete -n cs1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  wait_until 30 "the driver to delete $handle" driver_lacks_volume "$handle"
  fp_jq --arg h "$handle" 'any(.name == "DeleteVolume" and .request.volume_id == $h and .code == 0)'
  finish_namespace cs1
  stop_daemon main
  fp_stop
}

# The daemon is killed -9 while its CreateVolume is held: the journal keeps
# the intent, the driver never saw the call; a new daemon provisions exactly
# one volume under the same name, and the intent goes.
test_csi_daemon_killed_while_create_held() {
  trap csi_cleanup EXIT
  local uid pid
  new_namespace cs2
  make_class cs2-class Delete
  printf 'CreateVolume hold\n' >"$TEST_DIR/fp.rules"
  fp_start
  start_daemon first --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --v=2
  wait_log first 30 "running"
  make_claim cs2 data cs2-class
  wait_until 30 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  uid=$(k get -n cs2 pvc/data -o jsonpath='{.metadata.uid}')
  journal_has "pvc-$uid" || fail "no intent while CreateVolume is in flight"
  claim_unmarked cs2 data || fail "the claim carries a mark"
  pid=$(cat "$TEST_DIR/daemon-first.pid")
  rm -f "$TEST_DIR/daemon-first.pid"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  wait_until 10 "the held call to end with its caller" fp_count_at_least CreateVolume "done" 1
  fp_jq '[.[] | select(.name == "CreateVolume")] | length == 1 and
    (.[0] | .rule == "hold" and .released == false and .cancelled and .driver_code == null)'
  ! driver_has_name "pvc-$uid" || fail "the driver saw the held call"
  journal_has "pvc-$uid" || fail "the intent went away with the daemon"
  fp_rules ''
  start_daemon second --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --v=2
  wait_bound cs2 data 60
  [[ $(driver_ids "pvc-$uid" | wc -l) == 1 ]] || fail "want exactly one volume pvc-$uid"
  wait_until 30 "the intent to go once the PV is saved" journal_lacks "pvc-$uid"
  fp_jq --arg n "pvc-$uid" '[.[] | select(.name == "CreateVolume")] | all(.request.name == $n)'
  finish_namespace cs2
  stop_daemon second
  fp_stop
}

# The driver creates the volume but the daemon is told DeadlineExceeded: the
# daemon retries the same name, gets the same volume, binds it, and deletes
# it with the claim. Nothing leaks.
test_csi_daemon_create_timeout_does_not_leak() {
  trap csi_cleanup EXIT
  local uid pv handle
  new_namespace cs3
  make_class cs3-class Delete
  printf 'CreateVolume timeout count=1\n' >"$TEST_DIR/fp.rules"
  fp_start
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --v=2
  make_claim cs3 data cs3-class 2Mi
  wait_bound cs3 data 60
  uid=$(k get -n cs3 pvc/data -o jsonpath='{.metadata.uid}')
  pv=$(pv_of cs3 data)
  handle=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  [[ $(driver_ids "pvc-$uid") == "$handle" ]] || fail "want exactly one volume pvc-$uid = $handle"
  fp_jq --arg n "pvc-$uid" '[.[] | select(.name == "CreateVolume")] |
    .[0].rule == "timeout" and .[0].driver_code == 0 and .[0].code == 4 and
    .[1].rule == "pass" and .[1].code == 0 and all(.request.name == $n) and
    all(.request.capacity_range.required_bytes == 2097152)'
  k delete -n cs3 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  wait_until 30 "the driver to delete $handle" driver_lacks_volume "$handle"
  ! driver_has_name "pvc-$uid" || fail "a volume pvc-$uid is left"
  finish_namespace cs3
  stop_daemon main
  fp_stop
}

probe_failures_at_least() {
  (($(grep -cE 'csi: /csi.v1.Identity/Probe : (DeadlineExceeded|Unavailable)' \
    "$TEST_DIR/daemon-$1.log") >= $2))
}

# The driver is not there when the daemon starts (killed, its socket gone):
# the daemon keeps probing and does nothing else, then serves a claim once
# the driver starts.
test_csi_daemon_waits_for_absent_driver() {
  trap csi_cleanup EXIT
  local pid
  new_namespace cs4
  make_class cs4-class Delete
  driver_kill
  rm -f "${CSI_ENDPOINT#unix://}"
  make_claim cs4 data cs4-class
  start_daemon main --csi-address="$CSI_ENDPOINT" --retry-interval-start=1s --v=4
  pid=$(cat "$TEST_DIR/daemon-main.pid")
  wait_until 30 "the daemon to probe three times" probe_failures_at_least main 3
  kill -0 "$pid" || fail "the daemon exited without a driver"
  ! grep -q 'running' "$TEST_DIR/daemon-main.log" || fail "the daemon runs without a driver"
  [[ $(k get -n cs4 pvc/data -o jsonpath='{.status.phase}') == Pending ]] || fail "claim not Pending"
  driver_start
  wait_log main 30 "csi: driver at .* is ready"
  wait_bound cs4 data 60
  finish_namespace cs4
  stop_daemon main
}
