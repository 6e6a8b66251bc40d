# tests/chaos/scenarios-codes.sh - every gRPC status code (1-16) on
# CreateVolume and on DeleteVolume, through csi-faultproxy, lands in its
# class with its event, and the invariants hold afterwards. Sourced by
# tests/chaos/run.
#
# The codes run side by side: code C has a daemon of its own (provisioner
# chaos-code-C, journal in namespace chaos-code-j-C) behind a proxy of its
# own (unix://$TEST_DIR/fp-C.sock), and the class chaos-code-C; claims live
# in namespace chaos-code.
#
# Classes (docs/ARCHITECTURE.md, src/provision/claim_sync.c). Every failed
# CreateVolume is a ProvisioningFailed Warning with the driver's message and
# is retried. Upstream goes on in the background, even for a deleted claim,
# after Canceled, DeadlineExceeded, Aborted and Unavailable, and treats the
# other codes as final; we keep the intent (so the volume is settled after
# the claim is gone) for every code that does not prove the volume was not
# made: those four plus Unknown, AlreadyExists, Internal and DataLoss.
# InvalidArgument is infeasible: retried no sooner than --retry-interval-max.
# Every failed DeleteVolume is a VolumeFailedDelete Warning and is retried;
# the PV and the volume stay until it succeeds.

CODES_KEPT=" 1 2 4 6 10 13 14 15 "   # the intent stays: nothing is proven
CODES_INFEASIBLE=3
CODES_RETRY_MAX_S=3

# code_fp C - the proxy of code C.
code_fp() {
  "$FAULTPROXY" --listen="unix://$TEST_DIR/fp-$1.sock" --driver="$CSI_ENDPOINT" \
    --rules="$TEST_DIR/fp-$1.rules" --record="$TEST_DIR/fp-$1.jsonl" \
    --status="$TEST_DIR/fp-$1.status" >"$TEST_DIR/daemon-fp$1.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-fp$1.pid"
}

# code_calls C METHOD VOLUME [AFTER-MS] - start times (ms) of METHOD calls for
# VOLUME on proxy C that began after AFTER-MS, one a line.
code_calls() {
  [[ -f $TEST_DIR/fp-$1.jsonl ]] || return 0
  jq -r --arg m "$2" --arg v "$3" --argjson t "${4:-0}" \
    'select(.name == $m and (.request.name == $v or .request.volume_id == $v)
            and .start_unix_ms > $t) | .start_unix_ms' "$TEST_DIR/fp-$1.jsonl"
}
code_calls_at_least() { (($(code_calls "$1" "$2" "$3" "${5:-0}" | wc -l) >= $4)); }

# code_daemon C - the daemon of code C (as start_daemon, without its
# namespace check per start: the namespaces exist already).
code_daemon() {
  "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="unix://$TEST_DIR/fp-$1.sock" \
    --provisioner="chaos-code-$1" --leader-election-namespace="chaos-code-j-$1" \
    --retry-interval-start=200ms --retry-interval-max="${CODES_RETRY_MAX_S}s" \
    --worker-threads=2 --v=2 >"$TEST_DIR/daemon-code$1.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-code$1.pid"
}

# Checks over every code at once, one API read each (a wait_until polls
# them). CODES_WHY says which code is still wrong.

# codes_events NS PREFIX REASON WHAT - every object PREFIX-C (a claim in NS,
# or with NS=default the PV VOL[C]) has an event REASON saying "chaos WHAT C".
codes_events() {
  local c obj evs
  evs=$(api_get "/api/v1/namespaces/$1/events") || return 1
  for c in "${CODES[@]}"; do
    if [[ $1 == default ]]; then obj=${VOL[$c]}; else obj=$2-$c; fi
    CODES_WHY="code $c: no $3 event on $obj saying 'chaos $4 $c'"
    jq -e --arg o "$obj" --arg r "$3" --arg m "chaos $4 $c" \
      'any(.items[]; .involvedObject.name == $o and .reason == $r
                     and (.message | test($m + "\\b")))' <<<"$evs" >/dev/null || return 1
  done
}

# codes_calls METHOD N [AFTER-MS] - every proxy recorded N calls of METHOD for VOL[C].
codes_calls() {
  local c
  for c in "${CODES[@]}"; do
    CODES_WHY="code $c: fewer than $2 $1 calls for ${VOL[$c]}${3:+ after the claim went}"
    code_calls_at_least "$c" "$1" "${VOL[$c]}" "$2" "${3:-0}" || return 1
  done
}

# codes_intents KEPT-OR-DROPPED - the journals hold the intent VOL[C] exactly
# for the codes that keep it (KEPT), or no code's intent is left (DROPPED:
# for the codes that drop it; the kept ones are not looked at).
codes_intents() {
  local c cms has
  cms=$(api_get "/apis/coordination.k8s.io/v1/leases?labelSelector=csi-provisioner.dev%2Fjournal") || return 1
  for c in "${CODES[@]}"; do
    has=$(jq --arg ns "chaos-code-j-$c" --arg v "intent.csi-provisioner.dev/${VOL[$c]}" \
      'any(.items[]; .metadata.namespace == $ns and (.metadata.annotations // {} | has($v)))' <<<"$cms")
    if [[ $CODES_KEPT == *" $c "* ]]; then
      [[ $1 == kept ]] || continue
      CODES_WHY="code $c: the intent ${VOL[$c]} is not in the journal"
      [[ $has == true ]] || return 1
    else
      [[ $1 == dropped ]] || continue
      CODES_WHY="code $c: the intent ${VOL[$c]} is still in the journal"
      [[ $has == false ]] || return 1
    fi
  done
}

# codes_claims PHASE - every claim PREFIX-C is PHASE (Bound; or gone) and,
# when Bound, VOL[C] is its PV.
codes_claims() {
  local c list phase
  list=$(api_get /api/v1/namespaces/chaos-code/persistentvolumeclaims) || return 1
  for c in "${CODES[@]}"; do
    phase=$(jq -r --arg n "$2-$c" '[.items[] | select(.metadata.name == $n)][0]
      | if . == null then "gone" else .status.phase end' <<<"$list")
    CODES_WHY="code $c: claim $2-$c is $phase, not $1"
    [[ $phase == "$1" ]] || return 1
    [[ $1 == Bound ]] && VOL[$c]=$(jq -r --arg n "$2-$c" \
      '.items[] | select(.metadata.name == $n) | .spec.volumeName' <<<"$list")
  done
  return 0
}

# codes_wait SECONDS CHECK ARGS... - poll CHECK until it holds; fail with CODES_WHY.
codes_wait() {
  local limit=$1 deadline=$((SECONDS + $1))
  shift
  until "$@" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "after ${limit}s: $CODES_WHY"
    sleep 0.5   # poll interval; the deadline bounds it
  done
}

# codes_rules RULE-FORMAT - put printf(RULE-FORMAT, C, C) in force on every proxy.
codes_rules() {
  local c
  local -A gen=()
  for c in "${CODES[@]}"; do
    gen[$c]=$(jq -r .rules_generation "$TEST_DIR/fp-$c.status")
    # shellcheck disable=SC2059 # the format is the argument
    printf "$1\n" "$c" "$c" >"$TEST_DIR/fp-$c.rules.new"
    mv "$TEST_DIR/fp-$c.rules.new" "$TEST_DIR/fp-$c.rules"
  done
  for c in "${CODES[@]}"; do
    wait_until 20 "new rules on proxy $c" jq -e --argjson g "${gen[$c]}" \
      '.rules_generation > $g and .rules_error == null' "$TEST_DIR/fp-$c.status"
  done
}

mark() { echo "$(date +%T) [$((SECONDS - CHAOS_T0))s] $1"; }

scenario_csi_codes() {
  local c ms gap gone claims
  local -a all
  CODES=({1..16})
  all=("${CODES[@]}")
  declare -gA VOL=()
  for c in "${CODES[@]}"; do
    printf 'CreateVolume fail code=%s message="chaos create %s"\n' "$c" "$c" >"$TEST_DIR/fp-$c.rules"
    code_fp "$c"
    printf -- '---\n%s\n---\n%s\n' "{apiVersion: v1, kind: Namespace, metadata: {name: chaos-code-j-$c}}" \
      "{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: chaos-code-$c},
        provisioner: chaos-code-$c, reclaimPolicy: Delete, volumeBindingMode: Immediate}"
  done >"$TEST_DIR/objects.yaml"
  printf -- "---\n{apiVersion: v1, kind: Namespace, metadata: {name: chaos-code}}\n" >>"$TEST_DIR/objects.yaml"
  mark setup
  k apply -f "$TEST_DIR/objects.yaml" >/dev/null
  for c in "${CODES[@]}"; do
    wait_until 20 "proxy $c to serve" test -s "$TEST_DIR/fp-$c.status"
    code_daemon "$c"
  done
  for c in "${CODES[@]}"; do claim_post chaos-code "create-$c" "chaos-code-$c"; done
  claims=$(api_get /api/v1/namespaces/chaos-code/persistentvolumeclaims)
  for c in "${CODES[@]}"; do
    VOL[$c]=pvc-$(jq -r --arg n "create-$c" '.items[] | select(.metadata.name == $n) | .metadata.uid' \
      <<<"$claims")
  done

  # CreateVolume: the event, the retry, the intent while the claim lives
  mark events
  codes_wait 90 codes_events chaos-code create ProvisioningFailed create
  codes_wait 60 codes_calls CreateVolume 2
  codes_intents kept || fail "$CODES_WHY"
  event_says chaos-code "create-$CODES_INFEASIBLE" ProvisioningFailed "infeasible" ||
    fail "code $CODES_INFEASIBLE: the event does not say the request is infeasible"
  mapfile -t ms < <(code_calls "$CODES_INFEASIBLE" CreateVolume "${VOL[$CODES_INFEASIBLE]}")
  gap=$((ms[1] - ms[0]))
  ((gap >= CODES_RETRY_MAX_S * 1000 - 300)) ||
    fail "code $CODES_INFEASIBLE: retried after ${gap} ms, before --retry-interval-max"

  # the claims go while CreateVolume still fails: the kept intents are
  # settled (the driver is asked again), the dropped ones are not
  mark delete
  for c in "${CODES[@]}"; do claim_del chaos-code "create-$c"; done
  codes_wait 60 codes_claims gone create
  gone=$(now_ms)
  read -ra CODES <<<"$CODES_KEPT"
  codes_wait 60 codes_calls CreateVolume 2 "$gone"
  CODES=("${all[@]}")
  codes_intents kept || fail "$CODES_WHY (it went unsettled)"
  mark dropped
  codes_wait 60 codes_intents dropped
  for c in "${CODES[@]}"; do
    [[ $CODES_KEPT == *" $c "* ]] && continue
    (($(code_calls "$c" CreateVolume "${VOL[$c]}" "$gone" | wc -l) <= 1)) ||
      fail "code $c: CreateVolume went on after the claim was gone"
  done
  codes_rules '# code %s: no faults (%s)'

  # DeleteVolume: the event and the retry; the PV and its volume stay meanwhile
  for c in "${CODES[@]}"; do claim_post chaos-code "delete-$c" "chaos-code-$c"; done
  codes_wait 90 codes_claims Bound delete
  mark deletevolume
  codes_rules 'DeleteVolume fail code=%s message="chaos delete %s"'
  for c in "${CODES[@]}"; do claim_del chaos-code "delete-$c"; done
  codes_wait 90 codes_events default pv VolumeFailedDelete delete
  for c in "${CODES[@]}"; do
    VOL[$c]=$(jp "pv/${VOL[$c]}" '{.spec.csi.volumeHandle}')   # from here on: the volume id
  done
  codes_wait 60 codes_calls DeleteVolume 2
  for c in "${CODES[@]}"; do
    driver_has_volume "${VOL[$c]}" || fail "code $c: the volume went though DeleteVolume failed"
  done
  codes_rules '# code %s: no faults (%s)'

  mark invariants
  local jns provs
  jns=$(printf 'chaos-code-j-%s,' "${CODES[@]}")
  provs=$(printf 'chaos-code-%s,' "${CODES[@]}")
  "$ROOT/tests/chaos/check-invariants" --namespaces=chaos-code --journal-namespace="${jns%,}" \
    --provisioner="${provs%,}" --prefix=pvc --settle="$CHAOS_SETTLE" \
    --state="$CLUSTER_DIR/hostpath-state/state.json" || fail "invariants violated"
  for c in "${CODES[@]}"; do kill -TERM "$(cat "$TEST_DIR/daemon-code$c.pid")"; done
  for c in "${CODES[@]}"; do stop_daemon "code$c"; done   # each must exit 0
  for c in "${CODES[@]}"; do fp_stop_named "$c"; done
  CREATED=$((2 * ${#CODES[@]})) DELETED=$((2 * ${#CODES[@]}))
  report "codes ${#CODES[@]} on CreateVolume and on DeleteVolume"
}

# fp_stop_named C - SIGTERM proxy C; it must exit 0.
fp_stop_named() {
  local pidf=$TEST_DIR/daemon-fp$1.pid pid rc=0
  pid=$(cat "$pidf")
  rm -f "$pidf"
  kill -TERM "$pid"
  wait_until 10 "proxy $1 to exit" process_gone "$pid"
  wait "$pid" || rc=$?
  ((rc == 0)) || fail "proxy $1 exited $rc"
}
