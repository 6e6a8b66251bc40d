# tests/e2e/lib.sh - helpers for the end-to-end tests (sourced by tests/e2e/run).
#
# Waiting is always for a condition with a deadline: kubectl wait where the
# API can express it, else a bounded poll of a cheap check.

k() { "$KUBECTL" --kubeconfig "$KUBECONFIG" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }

# wait_until SECONDS DESCRIPTION COMMAND... - poll COMMAND until it succeeds.
wait_until() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${limit}s waiting for: $what"
    sleep 0.2   # poll interval; the deadline above is what bounds the wait
  done
}

# start_daemon NAME [ARGS...] - run our daemon as the non-admin identity.
# Environment variables for it can be passed with `env` in DAEMON_ENV.
# Each test's daemons keep their intent journal in a namespace of the test's
# own, journal_ns (POD_NAMESPACE, unless --leader-election-namespace says
# otherwise), so no test settles another test's intents.
start_daemon() {
  local name=$1
  shift
  local ns
  ns=$(journal_ns)
  k get namespace "$ns" >/dev/null 2>&1 || k create namespace "$ns" >/dev/null
  env POD_NAMESPACE="$ns" ${DAEMON_ENV:-} "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" "$@" \
    >"$TEST_DIR/daemon-$name.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-$name.pid"
}

# journal_ns - the namespace of this test's journal ("j-" and the test name).
journal_ns() { tr '_A-Z' '-a-z' <<<"j-$TEST_NAME" | cut -c1-63 | sed 's/-*$//'; }

# journal_keys [NS] - the volume names recorded in the intent journal (its
# Lease shards' annotations, src/journal/journal_store.c), one a line.
journal_keys() {
  k get leases -n "${1:-$(journal_ns)}" -l csi-provisioner.dev/journal -o json | jq -r '
    .items[] | .metadata.annotations // {} | to_entries[] |
    if (.key | startswith("intent.csi-provisioner.dev/")) then .key[27:]
    elif (.key | startswith("intent-long.csi-provisioner.dev/")) then (.value | split("\n")[0])
    else empty end'
}
journal_has() { grep -qx -- "$1" <<<"$(journal_keys "${2:-}")"; }
journal_lacks() { ! journal_has "$@"; }
journal_empty() { [[ -z $(journal_keys "${1:-}") ]]; }

daemon_log() { cat "$TEST_DIR/daemon-$1.log"; }

# log_has NAME PATTERN - a line of daemon NAME's log matches PATTERN. Read
# from the file: `grep -q` at the end of a pipe may close it before the
# writer is done, and the writer's SIGPIPE fails the pipe (pipefail).
log_has() { grep -q -- "$2" "$TEST_DIR/daemon-$1.log"; }

# wait_log NAME SECONDS PATTERN - wait for a line matching PATTERN in the daemon's log.
wait_log() {
  wait_until "$2" "daemon $1 to log /$3/" grep -qE -- "$3" "$TEST_DIR/daemon-$1.log"
}

# stop_daemon NAME - SIGTERM by PID, then require an orderly exit 0.
stop_daemon() {
  local pidf=$TEST_DIR/daemon-$1.pid pid rc
  [[ -f $pidf ]] || return 0
  pid=$(cat "$pidf")
  rm -f "$pidf"
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null
      fail "daemon $1 did not stop within 30s of SIGTERM"
    fi
    sleep 0.1   # poll interval for the process to exit
  done
  wait "$pid" 2>/dev/null
  rc=$?
  [[ $rc -eq 0 ]] || fail "daemon $1 exited $rc after SIGTERM"
}

stop_daemons() {
  local f
  for f in "$TEST_DIR"/daemon-*.pid; do
    [[ -f $f ]] || continue
    f=${f##*/daemon-}
    stop_daemon "${f%.pid}" || true
  done
}

# make_class NAME RECLAIM [EXTRA-YAML-LINES]
make_class() {
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $1
provisioner: $CSI_DRIVER_NAME
reclaimPolicy: $2
volumeBindingMode: Immediate
${3:-}
YAML
}

# make_claim NAMESPACE NAME CLASS [SIZE] [ACCESS-MODE]
make_claim() {
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $2
  namespace: $1
spec:
  storageClassName: $3
  accessModes: [${5:-ReadWriteOnce}]
  resources:
    requests:
      storage: ${4:-1Mi}
YAML
}

# claim_from NAMESPACE NAME CLASS SIZE FIELD GROUP KIND SOURCE [SOURCE-NAMESPACE] - a claim
# whose FIELD (dataSource or dataSourceRef) names SOURCE of KIND in GROUP;
# GROUP "none" leaves apiGroup out, anything else (even "") is written quoted.
claim_from() {
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $2
  namespace: $1
spec:
  storageClassName: $3
  accessModes: [ReadWriteOnce]
  $5:
    $([[ $6 == none ]] || printf 'apiGroup: "%s"' "$6")
    kind: $7
    ${9:+namespace: $9}
    name: "$8"
  resources:
    requests:
      storage: $4
YAML
}

# make_claims NAMESPACE CLASS NAME... - claims of 1Mi, all in one request, so
# they appear at once even when each kubectl run takes a second (load).
make_claims() {
  local ns=$1 class=$2 name
  shift 2
  for name in "$@"; do
    printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s, namespace: %s}\n' \
      "$name" "$ns"
    printf 'spec: {storageClassName: %s, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}\n' \
      "$class"
  done | k apply -f -
}

# make_wffc_claim NAMESPACE NAME CLASS NODE [SIZE] - a claim as the scheduler leaves it.
make_wffc_claim() {
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $2
  namespace: $1
  annotations:
    volume.kubernetes.io/selected-node: $4
spec:
  storageClassName: $3
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: ${5:-1Mi}
YAML
}

wait_bound() { k wait -n "$1" "pvc/$2" --for=jsonpath='{.status.phase}'=Bound --timeout="${3:-60}s"; }

pv_of() { k get -n "$1" "pvc/$2" -o jsonpath='{.spec.volumeName}'; }

jp() { k get "$1" -o jsonpath="$2"; }

# The hostpath driver's own record of its volumes, independent of our client.
driver_has_volume() {
  jq -e --arg id "$1" '.volumes[$id] != null' \
    "$CLUSTER_DIR/hostpath-state/state.json" >/dev/null
}

driver_volume_count() {
  jq '.volumes | length' "$CLUSTER_DIR/hostpath-state/state.json"
}

new_namespace() { k create namespace "$1" >/dev/null; }

driver_lacks_volume() { ! driver_has_volume "$1"; }

process_gone() { ! kill -0 "$1" 2>/dev/null; }

# event_says NAMESPACE OBJECT REASON PATTERN - an event on OBJECT with REASON matches PATTERN.
event_says() {
  grep -q -- "$4" <<<"$(k get -n "$1" events --field-selector "involvedObject.name=$2,reason=$3" \
    -o jsonpath='{.items[*].message}')"
}

# claim_unmarked NAMESPACE NAME - our provisioning mark is gone from the claim.
claim_unmarked() {
  local f
  f=$(k get -n "$1" "pvc/$2" -o jsonpath='{.metadata.finalizers} {.metadata.annotations}')
  [[ $f != *csi-provisioner.dev/* ]]
}

# free_port - a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# metric_value URL SERIES - the value of one exposition line, exact series match.
metric_value() {
  curl -fsS "$1" | awk -v s="$2" 'index($0, s " ") == 1 { print $NF; found = 1 } END { exit !found }'
}

pv_has_finalizer() {
  grep -q 'external-provisioner.volume.kubernetes.io/finalizer' <<<"$(k get "pv/$1" -o jsonpath='{.metadata.finalizers}')"
}
pv_lacks_finalizer() { ! pv_has_finalizer "$1"; }

# start_private_driver [DRIVER-FLAGS...] - a driver of our own in $TEST_DIR/drv,
# with extra flags (e.g. --enable-attach); sets PRIVATE_ENDPOINT. It is stopped
# with the daemons (as "driver"), by PID.
start_private_driver() {
  mkdir -p "$TEST_DIR/drv"
  "$PEERS_BIN/csi-hostpath" --endpoint="unix://$TEST_DIR/drv/csi.sock" --nodeid="$CSI_NODE_ID" \
    --drivername="$CSI_DRIVER_NAME" --statedir="$TEST_DIR/drv/state" "$@" \
    >"$TEST_DIR/driver.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-driver.pid"
  PRIVATE_ENDPOINT=unix://$TEST_DIR/drv/csi.sock
  wait_until 30 "the private driver's socket" test -S "$TEST_DIR/drv/csi.sock"
}

# finish_namespace NS - delete a test's claims and wait, while the test's
# daemon still runs, until they are gone and every PV they had with reclaim
# policy Delete is deleted: the next test starts from a clean cluster. Then
# delete the namespace without waiting: the controller-manager's namespace
# controller waits a fixed 5 s before it acts on a deleted namespace, so
# tests/e2e/run waits for all of a run's namespaces at its end
# (namespaces_deleted, which names a namespace still there and its test).
finish_namespace() {
  k delete pvc --all -n "$1" --wait=false >/dev/null
  wait_until 90 "the claims of namespace $1 to go" no_claims_in "$1"
  wait_until 90 "the Delete PVs of namespace $1 to go" no_delete_pvs_of "$1"
  k delete namespace "$1" --wait=false >/dev/null
  printf '%s %s\n' "$1" "$TEST_NAME" >>"$E2E_WORK/deleted-namespaces"
}

no_claims_in() { [[ -z $(k get pvc -n "$1" -o name) ]]; }

no_delete_pvs_of() {
  [[ -z $(k get pv -o jsonpath="{range .items[?(@.spec.claimRef.namespace==\"$1\")]}{.spec.persistentVolumeReclaimPolicy}{'\n'}{end}" | grep -x Delete) ]]
}
