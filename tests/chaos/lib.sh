# tests/chaos/lib.sh - the chaos suite's workload and fault helpers (sourced
# by tests/chaos/run after tests/e2e/lib.sh and tests/e2e/test-csi.sh, whose
# helpers it uses).
#
# The workload creates and deletes claims in a random interleaving drawn
# from bash's RANDOM (seeded from CHAOS_SEED by the runner, so a run can be
# replayed); the scenario's fault action runs at fault points drawn the same
# way. Claims are written with curl as the cluster's admin (one request
# each, much cheaper than kubectl), and checked at the end by
# tests/chaos/check-invariants.

CHAOS_ADMIN_TOKEN=$(awk '$1 == "token:" { print $2; exit }' "$KUBECONFIG")

# api METHOD PATH [BODY] - one request to the API server as admin (30 s at
# most); prints the HTTP status (000: no answer).
api() {
  local args=(-sS -o /dev/null -w '%{http_code}' --max-time 30 --cacert "$KUBE_CA_FILE"
    -H "Authorization: Bearer $CHAOS_ADMIN_TOKEN" -X "$1")
  [[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$KUBE_APISERVER$2"
}

# api_get PATH - GET as admin, the body to stdout; fails on an HTTP error.
api_get() {
  curl -sS --fail --max-time 30 --cacert "$KUBE_CA_FILE" \
    -H "Authorization: Bearer $CHAOS_ADMIN_TOKEN" "$KUBE_APISERVER$1"
}

# claim_post NS NAME CLASS - create a claim (1Mi, ReadWriteOnce); an earlier
# attempt that was answered too late may have created it already (409).
claim_post() {
  local code
  code=$(api POST "/api/v1/namespaces/$1/persistentvolumeclaims" "$(jq -cn --arg n "$2" --arg c "$3" \
    '{apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: {name: $n},
      spec: {storageClassName: $c, accessModes: ["ReadWriteOnce"],
             resources: {requests: {storage: "1Mi"}}}}')")
  [[ $code == 201 || $code == 409 ]] || { echo "create $1/$2: HTTP $code" >&2; return 1; }
}

# claim_del NS NAME - delete a claim (no wait: finalizers run their course).
claim_del() {
  local code
  code=$(api DELETE "/api/v1/namespaces/$1/persistentvolumeclaims/$2")
  [[ $code == 200 || $code == 202 || $code == 404 ]] || { echo "delete $1/$2: HTTP $code" >&2; return 1; }
}

# retry_api SECONDS WHAT COMMAND... - COMMAND until it succeeds; a fault may
# have the API server down for a while (the deadline bounds it).
retry_api() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" 2>>"$TEST_DIR/api-errors.log"; do
    ((SECONDS < deadline)) || fail "the API server refused to $what for ${limit}s"
    sleep 0.5   # poll interval while the API server comes back
  done
}

# chaos_daemon NAME PREFIX [ARGS...] - our daemon against the cluster's
# driver, with short retries and room to work (QPS 50), volume names PREFIX-<uid>.
chaos_daemon() {
  local name=$1 prefix=$2
  shift 2
  start_daemon "$name" --csi-address="$CSI_ENDPOINT" --volume-name-prefix="$prefix" \
    --retry-interval-start=200ms --retry-interval-max=2s --kube-api-qps=50 \
    --kube-api-burst=100 --worker-threads=20 --v=2 "$@"
}

# pick BRIEF LONG - the value for this run's mode
pick() { if [[ $CHAOS_MODE == long ]]; then echo "$2"; else echo "$1"; fi; }

# chaos_setup NS CLASS - the scenario's namespace and class (Delete, Immediate).
chaos_setup() {
  new_namespace "$1"
  make_class "$2" Delete >/dev/null
}

# fault_points N STEPS - N distinct random step numbers in 1..STEPS, sorted,
# one a line (fewer if STEPS < N).
fault_points() {
  local n=$1 steps=$2 i p
  local -A seen=()
  ((n > steps)) && n=$steps
  for ((i = 0; i < n; )); do
    p=$((RANDOM % steps + 1))
    [[ -n ${seen[$p]:-} ]] && continue
    seen[$p]=1
    i=$((i + 1))
  done
  printf '%s\n' "${!seen[@]}" | sort -n
}

# workload NS CLASS CLAIMS KEEP FAULTS ACTION - create CLAIMS claims and
# delete all but KEEP of them, one operation per step, in a random
# interleaving (a delete picks a random live claim, often one still being
# provisioned). ACTION runs before the steps drawn by fault_points FAULTS
# (with the fault's number), and the function named by $WORKLOAD_TICK, if
# any, before every step (with the step's number).
# Sets CREATED, DELETED, FAULTS_DONE.
workload() {
  local ns=$1 class=$2 n=$3 keep=$4 nfaults=$5 action=$6
  local steps=$((2 * n - keep)) step i name
  local -a live=() points
  mapfile -t points < <(fault_points "$nfaults" "$steps")
  CREATED=0 DELETED=0 FAULTS_DONE=0
  for ((step = 1; step <= steps; step++)); do
    [[ -n ${WORKLOAD_TICK:-} ]] && "$WORKLOAD_TICK" "$step"
    if [[ ${points[FAULTS_DONE]:-} == "$step" ]]; then
      "$action" $((FAULTS_DONE + 1))
      FAULTS_DONE=$((FAULTS_DONE + 1))
    fi
    # create while there is something left to create, and with a 55 % chance
    # when a delete is possible too
    if ((CREATED < n)) && { ((${#live[@]} == 0 || DELETED >= n - keep)) || ((RANDOM % 100 < 55)); }; then
      name=c$CREATED
      retry_api 120 "create claim $ns/$name" claim_post "$ns" "$name" "$class"
      live+=("$name")
      CREATED=$((CREATED + 1))
    else
      i=$((RANDOM % ${#live[@]}))
      retry_api 120 "delete claim $ns/${live[i]}" claim_del "$ns" "${live[i]}"
      live=("${live[@]:0:i}" "${live[@]:i+1}")
      DELETED=$((DELETED + 1))
    fi
  done
}

# check NS JOURNAL-NS PREFIX [PROVISIONER] - the invariants for one scenario.
check() {
  "$ROOT/tests/chaos/check-invariants" --namespaces="$1" --journal-namespace="$2" \
    --prefix="$3" --provisioner="${4:-$CSI_DRIVER_NAME}" --settle="$CHAOS_SETTLE" \
    --state="$CLUSTER_DIR/hostpath-state/state.json" || fail "invariants violated"
}

# report [MORE] - the scenario's counts.
report() {
  echo "counts: claims created $CREATED, deleted $DELETED, ${1:-faults $FAULTS_DONE}," \
    "elapsed $((SECONDS - CHAOS_T0))s"
}

# kill9 PIDFILE - SIGKILL the process of PIDFILE and wait until it is gone.
kill9() {
  local pid
  pid=$(cat "$1")
  kill -KILL "$pid" 2>/dev/null
  wait_until 30 "pid $pid to die" process_gone "$pid"
}

# restart_component NAME - kill -9 a cluster component and start it again
# (tests/cluster/restart waits until it serves).
restart_component() {
  "$ROOT/tests/cluster/restart" "$CLUSTER_DIR" "$@" >>"$TEST_DIR/restart.log" 2>&1 ||
    { tail -20 "$TEST_DIR/restart.log"; fail "restarting $* failed"; }
}

# chaos_cleanup - every scenario's EXIT trap: the control plane resumed and
# running, daemons and proxies stopped (by PID), the driver running again.
chaos_cleanup() {
  local c pid
  pid=$(cat "$CLUSTER_DIR/pids/kube-apiserver.pid")
  kill -CONT "$pid" 2>/dev/null || true
  for c in etcd kube-apiserver; do
    pid=$(cat "$CLUSTER_DIR/pids/$c.pid")
    kill -0 "$pid" 2>/dev/null || "$ROOT/tests/cluster/restart" "$CLUSTER_DIR" etcd kube-apiserver \
      >>"$TEST_DIR/restart.log" 2>&1 || true
  done
  csi_cleanup
}

# one_daemon_scenario PREFIX DAEMON CLAIMS KEEP FAULTS ACTION - the common
# shape: namespace and class chaos-PREFIX, one daemon (named DAEMON, volumes
# PREFIX-<uid>), the workload with ACTION at its fault points, the
# invariants, and an orderly stop of the daemon (held in $DAEMON_NAME, which
# ACTION may change when it replaces the daemon).
one_daemon_scenario() {
  local prefix=$1 n=$3 keep=$4 faults=$5 action=$6
  DAEMON_NAME=$2
  chaos_setup "$prefix" "chaos-$prefix"
  chaos_daemon "$DAEMON_NAME" "$prefix"
  wait_log "$DAEMON_NAME" 60 "running"
  workload "$prefix" "chaos-$prefix" "$n" "$keep" "$faults" "$action"
  [[ -z ${AFTER_WORKLOAD:-} ]] || "$AFTER_WORKLOAD"
  check "$prefix" "$(journal_ns)" "$prefix"
  kill -0 "$(cat "$TEST_DIR/daemon-$DAEMON_NAME.pid")" || fail "daemon $DAEMON_NAME is gone"
  stop_daemon "$DAEMON_NAME"
}
