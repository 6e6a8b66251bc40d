# tests/e2e/test-kube.sh - src/kube and src/informer against the real API
# server, through tests/tools/informer-dump: pagination, event order, an API
# server restart, 410 Gone after an etcd compaction, TLS and RBAC errors,
# token file rotation, and every decoder on the objects a cluster serves.
#
# The tool's cache is compared with kubectl's view as sorted
# "key resourceVersion" lines; comparisons poll with a deadline because the
# informer is eventually consistent.

INFORMER_DUMP=${INFORMER_DUMP:-$ROOT/build/tests/tools/informer-dump/informer-dump}

# kube_tool NAME RESOURCE [OPTIONS...] - run an informer in $TEST_DIR/NAME.d,
# as a daemon (log: daemon-NAME.log, stopped by stop_daemons).
kube_tool() {
  local name=$1 res=$2
  shift 2
  mkdir -p "$TEST_DIR/$name.d"
  "$INFORMER_DUMP" --kubeconfig="${TOOL_KUBECONFIG:-$PROVISIONER_KUBECONFIG}" --v=4 "$@" \
    watch "$res" "$TEST_DIR/$name.d" >"$TEST_DIR/daemon-$name.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-$name.pid"
}

# ctl NAME COMMAND... - send a control command; bounded in case the tool died.
ctl() {
  local name=$1
  shift
  wait_until 10 "informer-dump $name to open its control fifo" test -p "$TEST_DIR/$name.d/control"
  timeout 10 bash -c 'printf "%s\n" "$1" >"$2"' _ "$*" "$TEST_DIR/$name.d/control" ||
    fail "informer-dump $name did not take command '$*'"
}

# tool_dump NAME FILE - the tool's cache, sorted "key rv" lines, into FILE.
tool_dump() {
  rm -f "$2"
  ctl "$1" dump "$2"
  wait_until 10 "informer-dump $1 to write $2" test -f "$2"
}

# kube_view KIND FILE [kubectl get args...] - kubectl's "key rv" lines, sorted.
kube_view() {
  local kind=$1 out=$2
  shift 2
  k get "$kind" "$@" -o jsonpath='{range .items[*]}{.metadata.namespace}{"/"}{.metadata.name}{" "}{.metadata.resourceVersion}{"\n"}{end}' |
    sed 's|^/||' | LC_ALL=C sort >"$out"
}

# same_view NAME KIND [kubectl args...] - the cache equals kubectl's view now.
same_view() {
  local name=$1 kind=$2
  shift 2
  tool_dump "$name" "$TEST_DIR/$name.d/cache" && LC_ALL=C sort -o "$TEST_DIR/$name.d/cache" "$TEST_DIR/$name.d/cache" &&
    kube_view "$kind" "$TEST_DIR/$name.d/server" "$@" &&
    cmp -s "$TEST_DIR/$name.d/cache" "$TEST_DIR/$name.d/server"
}

# wait_same SECONDS NAME KIND [kubectl args...]
wait_same() {
  local limit=$1 name=$2 kind=$3 deadline=$((SECONDS + $1))
  shift 3
  until same_view "$name" "$kind" "$@"; do
    if ((SECONDS >= deadline)); then
      diff "$TEST_DIR/$name.d/cache" "$TEST_DIR/$name.d/server" | head -20 >&2
      fail "the $name cache differs from kubectl's view of $kind after ${limit}s"
    fi
    sleep 0.2   # poll interval; the deadline bounds the wait
  done
}

wait_synced_tool() { wait_until "${2:-30}" "informer-dump $1 to sync" test -f "$TEST_DIR/$1.d/synced"; }

# A PV of a driver nobody serves, labelled for one test.
pv_json() { # NAME LABEL
  printf '{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"%s","labels":{"e2e-kube":"%s"}},"spec":{"capacity":{"storage":"1Mi"},"accessModes":["ReadWriteOnce"],"persistentVolumeReclaimPolicy":"Retain","storageClassName":"e2e-kube-none","csi":{"driver":"e2e-kube.example.com","volumeHandle":"%s"}}}\n' "$1" "$2" "$1"
}

# make_pvs LABEL PREFIX COUNT - create COUNT PVs in one kubectl call.
make_pvs() {
  local i
  {
    echo '{"apiVersion":"v1","kind":"List","items":['
    for ((i = 0; i < $3; i++)); do
      ((i == 0)) || echo ,
      pv_json "$(printf '%s-%04d' "$2" "$i")" "$1"
    done
    echo ']}'
  } >"$TEST_DIR/pvs-$2.json"
  k create -f "$TEST_DIR/pvs-$2.json" >/dev/null
}

no_pvs_labelled() { [[ -z $(k get pv -l "e2e-kube=$1" -o name) ]]; }

# drop_pvs LABEL - delete a label's PVs in one call and wait until gone.
drop_pvs() {
  k delete --raw "/api/v1/persistentvolumes?labelSelector=e2e-kube%3D$1" >/dev/null
  wait_until 120 "PVs labelled e2e-kube=$1 to go" no_pvs_labelled "$1"
}

apiserver_ready() { k get --raw /readyz >/dev/null 2>&1; }

# exited PID: gone, or a zombie nobody reaped yet (it serves nothing).
exited() { [[ ! -e /proc/$1 || $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

# The API server runs (restart it if a failed test left it down) and is ready.
ensure_apiserver() {
  local pid
  pid=$(cat "$CLUSTER_DIR/pids/kube-apiserver.pid")
  if exited "$pid"; then
    "$CLUSTER_DIR/cmd/kube-apiserver"
  fi
  wait_until 90 "kube-apiserver /readyz" apiserver_ready
}

# More PVs than one 500-item page exist before the informer starts: all
# arrive (in three pages); then one PV's create, update and delete arrive
# in that order, each with the resourceVersion the API server gave it.
test_kube_informer_pages_then_events_in_order() {
  trap 'stop_daemons; drop_pvs pages' EXIT
  make_pvs pages kube-page 1200
  kube_tool pv pv
  wait_synced_tool pv
  [[ $(cat "$TEST_DIR/pv.d/synced") -ge 1200 ]] || fail "synced with $(cat "$TEST_DIR/pv.d/synced") objects"
  [[ $(grep -c 'persistentvolumes: list page [0-9]*:' "$TEST_DIR/daemon-pv.log") -ge 3 ]] ||
    fail "the first list did not come in pages"
  wait_same 30 pv pv
  [[ $(grep -c '^kube-page-' "$TEST_DIR/pv.d/cache") -eq 1200 ]] || fail "not every PV is cached"

  local rv1 rv2 rv3
  rv1=$(pv_json kube-ev events | k create -f - -o jsonpath='{.metadata.resourceVersion}')
  rv2=$(k label pv/kube-ev e2e-step=2 -o jsonpath='{.metadata.resourceVersion}')
  rv3=$(k annotate pv/kube-ev e2e-step=3 -o jsonpath='{.metadata.resourceVersion}')
  k delete pv/kube-ev --wait=true >/dev/null
  wait_until 30 "the DELETE event of kube-ev" grep -q '^DELETE kube-ev ' "$TEST_DIR/pv.d/events"
  grep ' kube-ev ' "$TEST_DIR/pv.d/events" >"$TEST_DIR/ev"
  cat "$TEST_DIR/ev"
  [[ $(head -1 "$TEST_DIR/ev") == "ADD kube-ev $rv1" ]] || fail "first event is not ADD at $rv1"
  grep -qx "UPDATE kube-ev $rv2" "$TEST_DIR/ev" || fail "no UPDATE at $rv2"
  grep -qx "UPDATE kube-ev $rv3" "$TEST_DIR/ev" || fail "no UPDATE at $rv3"
  [[ $(tail -1 "$TEST_DIR/ev" | cut -d' ' -f1) == DELETE ]] || fail "last event is not DELETE"
  [[ $(grep -c '^ADD ' "$TEST_DIR/ev") -eq 1 && $(grep -c '^DELETE ' "$TEST_DIR/ev") -eq 1 ]] ||
    fail "more than one ADD or DELETE"
  # in order: resourceVersions only grow along the log
  cut -d' ' -f3 "$TEST_DIR/ev" | sort -n -c || fail "events out of resourceVersion order"
  stop_daemon pv
}

# kube-apiserver dies (kill -9) under a running watch and comes back; the
# informer notices, resumes, and catches up with what changed meanwhile.
test_kube_informer_survives_apiserver_restart() {
  trap 'ensure_apiserver; stop_daemons; drop_pvs restart' EXIT
  make_pvs restart kube-rs 6
  kube_tool rs pv --selector=e2e-kube=restart
  wait_synced_tool rs
  wait_same 30 rs pv -l e2e-kube=restart
  local tool_pid pid
  tool_pid=$(cat "$TEST_DIR/daemon-rs.pid")

  pid=$(cat "$CLUSTER_DIR/pids/kube-apiserver.pid")
  kill -9 "$pid"
  wait_until 30 "kube-apiserver (pid $pid) to exit" exited "$pid"
  wait_log rs 30 "persistentvolumes: (watch|list) failed, retrying"
  "$CLUSTER_DIR/cmd/kube-apiserver"
  wait_until 90 "kube-apiserver /readyz after the restart" apiserver_ready

  # changes after the restart: new, changed and deleted objects
  k delete pv/kube-rs-0000 pv/kube-rs-0001 --wait=true >/dev/null
  k label pv/kube-rs-0002 e2e-step=after-restart >/dev/null
  make_pvs restart kube-rs-new 3
  wait_same 90 rs pv -l e2e-kube=restart
  grep -q '^DELETE kube-rs-0000 ' "$TEST_DIR/rs.d/events" || fail "no DELETE for kube-rs-0000"
  grep -q '^ADD kube-rs-new-0002 ' "$TEST_DIR/rs.d/events" || fail "no ADD for kube-rs-new-0002"
  kill -0 "$tool_pid" || fail "informer-dump exited"
  [[ $(cat "$TEST_DIR/daemon-rs.pid") == "$tool_pid" ]] || fail "the tool was restarted"
  stop_daemon rs
}

etcd_revision() {
  "$ETCDCTL" --endpoints="$ETCD_ENDPOINT" endpoint status -w json |
    jq -r '.[0].Status.header.revision'
}

# A watch from a compacted resourceVersion gets 410 Gone; the informer lists
# again and delivers the difference. The API server's watch cache would hide
# the compaction, so this runs on a second cluster started without it.
test_kube_informer_relists_after_410_gone() {
  local c2=$TEST_DIR/c2
  # expanded now: the trap runs after this function's locals are gone
  trap "stop_daemons; $(printf '%q' "$ROOT/tests/cluster/down") $(printf '%q' "$c2")" EXIT
  KUBE_APISERVER_EXTRA_ARGS=--watch-cache=false "$ROOT/tests/cluster/up" "$c2" >"$TEST_DIR/c2-up.log" 2>&1 ||
    { tail -30 "$TEST_DIR/c2-up.log"; fail "second cluster did not start"; }
  # shellcheck disable=SC1091
  source "$c2/env"
  grep -q -- '--watch-cache=false' "$c2/cmd/kube-apiserver" || fail "second cluster has the watch cache on"
  wait_until 90 "the second kube-apiserver /readyz" apiserver_ready
  make_pvs gone kube-gone 5
  kube_tool gone pv
  wait_synced_tool gone
  wait_same 30 gone pv

  rm -f "$TEST_DIR/paused"
  ctl gone pause "$TEST_DIR/paused"
  wait_until 40 "the informer to pause" test -f "$TEST_DIR/paused"
  [[ $(cat "$TEST_DIR/paused") == paused ]] || fail "pause: $(cat "$TEST_DIR/paused")"
  k delete pv/kube-gone-0000 --wait=true >/dev/null
  k label pv/kube-gone-0001 e2e-step=while-paused >/dev/null
  make_pvs gone kube-gone-new 2
  local rev
  rev=$(etcd_revision)
  "$ETCDCTL" --endpoints="$ETCD_ENDPOINT" compact "$rev" >/dev/null
  ctl gone resume

  wait_log gone 30 "persistentvolumes: watch expired .*; listing again"
  wait_same 30 gone pv
  grep -q '^DELETE kube-gone-0000 ' "$TEST_DIR/gone.d/events" || fail "no DELETE for kube-gone-0000"
  grep -q '^ADD kube-gone-new-0001 ' "$TEST_DIR/gone.d/events" || fail "no ADD for kube-gone-new-0001"
  stop_daemon gone
}

# A kubeconfig whose CA did not sign the API server's certificate: a TLS
# error that says so and names the CA file.
test_kube_wrong_ca_is_a_clear_tls_error() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=not-the-cluster-ca" \
    -keyout "$TEST_DIR/other-ca.key" -out "$TEST_DIR/other-ca.crt" 2>/dev/null
  sed "s|certificate-authority: .*|certificate-authority: $TEST_DIR/other-ca.crt|" \
    "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/wrong-ca.kubeconfig"
  local out rc=0
  out=$("$INFORMER_DUMP" --kubeconfig="$TEST_DIR/wrong-ca.kubeconfig" get /api/v1/persistentvolumes 2>&1) || rc=$?
  echo "$out"
  [[ $rc -eq 1 ]] || fail "exit $rc, want 1"
  grep -q 'KUBE_ERR_TLS' <<<"$out" || fail "not a TLS error"
  grep -qF "certificate does not verify against CA '$TEST_DIR/other-ca.crt'" <<<"$out" ||
    fail "the message does not name the problem and the CA"
  # and the informer says the same while it retries
  TOOL_KUBECONFIG=$TEST_DIR/wrong-ca.kubeconfig kube_tool ca pv
  wait_log ca 30 "list failed, retrying in .*does not verify against CA"
  [[ ! -f $TEST_DIR/ca.d/synced ]] || fail "synced without a trusted server"
  stop_daemon ca
}

# A token the API server accepts but RBAC grants nothing: forbidden, with
# the verb and the resource named.
test_kube_forbidden_names_verb_and_resource() {
  k create serviceaccount kube-nobody -n default >/dev/null
  local tok out rc=0
  tok=$(k create token kube-nobody -n default)
  sed "s|token: .*|token: $tok|" "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/nobody.kubeconfig"
  out=$("$INFORMER_DUMP" --kubeconfig="$TEST_DIR/nobody.kubeconfig" get /api/v1/persistentvolumes 2>&1) || rc=$?
  echo "$out"
  [[ $rc -eq 1 ]] || fail "exit $rc, want 1"
  grep -q 'KUBE_ERR_FORBIDDEN' <<<"$out" || fail "not forbidden"
  grep -q 'cannot list resource "persistentvolumes"' <<<"$out" || fail "verb and resource not named"
  # a watch is refused the same way, naming the watch verb
  rc=0
  out=$("$INFORMER_DUMP" --kubeconfig="$TEST_DIR/nobody.kubeconfig" get '/api/v1/persistentvolumes?watch=1&timeoutSeconds=1' 2>&1) || rc=$?
  echo "$out"
  grep -q 'cannot watch resource "persistentvolumes"' <<<"$out" || fail "watch verb not named"
  k delete serviceaccount kube-nobody -n default >/dev/null
}

# The kubeconfig names a tokenFile holding a token the server refuses; the
# file is rewritten with a valid token and the same process syncs.
test_kube_token_file_rotation() {
  local good
  good=$(sed -n 's/^ *token: *//p' "$PROVISIONER_KUBECONFIG")
  [[ -n $good ]] || fail "no token in $PROVISIONER_KUBECONFIG"
  echo "not-a-valid-token" >"$TEST_DIR/token"
  sed "s|token: .*|tokenFile: $TEST_DIR/token|" "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/rot.kubeconfig"
  TOOL_KUBECONFIG=$TEST_DIR/rot.kubeconfig kube_tool rot pv
  local pid
  pid=$(cat "$TEST_DIR/daemon-rot.pid")
  wait_log rot 30 "Unauthorized: the API server did not accept the bearer token from file '$TEST_DIR/token'"
  [[ ! -f $TEST_DIR/rot.d/synced ]] || fail "synced with a bad token"
  echo "$good" >"$TEST_DIR/token.new"
  mv "$TEST_DIR/token.new" "$TEST_DIR/token"
  wait_synced_tool rot 60
  kill -0 "$pid" || fail "the tool exited"
  pv_json kube-rot rotation | k create -f - >/dev/null
  wait_until 30 "the ADD event of kube-rot" grep -q '^ADD kube-rot ' "$TEST_DIR/rot.d/events"
  k delete pv/kube-rot --wait=false >/dev/null
  stop_daemon rot
}

# Every decoder takes what a real API server sends: the cache of each kind
# equals kubectl's view (nodes, CSINodes, classes, leases, secrets, ...).
test_kube_informer_decodes_every_served_kind() {
  k create namespace kube-kinds >/dev/null
  k create secret generic s1 -n kube-kinds --from-literal=password=hunter2 >/dev/null
  k apply -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: kube-kinds-topo}
provisioner: e2e-kube.example.com
allowedTopologies:
- matchLabelExpressions:
  - {key: topology.hostpath.csi/node, values: [node-1]}
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata: {name: cap-1, namespace: kube-kinds}
storageClassName: kube-kinds-topo
capacity: 10Gi
maximumVolumeSize: 1Gi
nodeTopology:
  matchLabels: {topology.hostpath.csi/node: node-1}
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata: {name: kube-kinds-va}
spec:
  attacher: e2e-kube.example.com
  nodeName: node-1
  source: {persistentVolumeName: kube-kinds-pv}
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata: {name: kube-kinds-gold}
driverName: e2e-kube.example.com
parameters: {iops: "1000"}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kube-kinds-lease, namespace: kube-kinds}
spec:
  holderIdentity: me
  leaseDurationSeconds: 15
  acquireTime: "2024-05-01T10:00:00.000000Z"
  renewTime: "2024-05-01T10:00:05.000000Z"
  leaseTransitions: 2
YAML
  local kinds=(node:nodes csinode:csinodes sc:storageclasses lease:leases secret:secrets
    va:volumeattachments vac:volumeattributesclasses csc:csistoragecapacities
    pvc:persistentvolumeclaims pv:persistentvolumes)
  local kv res kind
  for kv in "${kinds[@]}"; do
    res=${kv%%:*} kind=${kv#*:}
    TOOL_KUBECONFIG=$KUBECONFIG kube_tool "$res" "$res"
  done
  for kv in "${kinds[@]}"; do
    res=${kv%%:*} kind=${kv#*:}
    wait_synced_tool "$res"
    # namespaced kinds: every namespace
    if [[ $res == @(lease|secret|csc|pvc) ]]; then
      wait_same 30 "$res" "$kind" -A
    else
      wait_same 30 "$res" "$kind"
    fi
    ! grep -q 'does not decode' "$TEST_DIR/daemon-$res.log" || fail "$res: an object did not decode"
  done
  grep -q '^kube-kinds/s1 ' "$TEST_DIR/secret.d/cache" || fail "secret s1 not cached"
  grep -q '^kube-kinds/kube-kinds-lease ' "$TEST_DIR/lease.d/cache" || fail "lease not cached"
  stop_daemons
  k delete namespace kube-kinds --wait=false >/dev/null
  # nobody here runs the controller that removes vac-protection
  k patch volumeattributesclass/kube-kinds-gold --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
  k delete sc/kube-kinds-topo volumeattachment/kube-kinds-va volumeattributesclass/kube-kinds-gold \
    --timeout=60s >/dev/null
}

# connections_to_apiserver PID - established TCP connections from PID to the API server.
connections_to_apiserver() {
  ss -tnpH state established "( dport = :${KUBE_APISERVER##*:} )" | grep -c "pid=$1," || true
}

# local_ports PID - the local ports of those connections, one a line, sorted.
local_ports() {
  ss -tnpH state established "( dport = :${KUBE_APISERVER##*:} )" | grep "pid=$1," |
    awk '{ n = split($3, a, ":"); print a[n] }' | sort
}

# The daemon's watches share three HTTP/2 connections: claims one, PVs one,
# the other kinds (classes here) the third (src/kube/transport.c,
# kube_watch_lane). Its requests (lists, writes, events) run on HTTP/1.1
# connections of a pool per client family that keeps at most
# TP_DIRECT_IDLE (8) alive once they are done (src/kube/direct.c; up to 64
# while requests run at once); the intent journal has a client and pool of its own
# (the write every worker waits for must not queue behind their PV
# creates), and so would leader election (off here). So at least four, at
# most 3 + 8 + 8, and the ones open after two claims are still open after
# two more: kept alive and reused, not one a request.
DAEMON_KUBE_CONNECTIONS_MAX=19
conn_claims_bound() {   # conn_claims_bound NAME... - claims in kube-conn, all Bound
  local c
  for c in "$@"; do make_claim kube-conn "$c" kube-conn; done
  for c in "$@"; do wait_bound kube-conn "$c"; done
}
test_kube_daemon_connections_are_few_and_kept() {
  new_namespace kube-conn
  make_class kube-conn Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=2
  wait_log main 30 "running"
  local pid n before after gone
  pid=$(cat "$TEST_DIR/daemon-main.pid")
  conn_claims_bound a b
  # informers watching, PVs created, claims patched, events posted
  n=$(connections_to_apiserver "$pid")
  [[ $n -ge 4 && $n -le $DAEMON_KUBE_CONNECTIONS_MAX ]] ||
    { ss -tnp | grep "pid=$pid,"; fail "$n connections to the API server, want 4 to $DAEMON_KUBE_CONNECTIONS_MAX"; }
  before=$(local_ports "$pid")
  conn_claims_bound c d
  after=$(local_ports "$pid")
  gone=$(comm -23 <(echo "$before") <(echo "$after") | tr '\n' ' ')
  [[ -z ${gone// /} ]] ||
    { ss -tnp | grep "pid=$pid,"; fail "connections closed between two claims and the next two (local ports $gone): not kept alive"; }
  n=$(wc -l <<<"$after")
  [[ $n -le $DAEMON_KUBE_CONNECTIONS_MAX ]] ||
    fail "$n connections to the API server after four claims, want at most $DAEMON_KUBE_CONNECTIONS_MAX"
  finish_namespace kube-conn
  stop_daemon main
}

# 150 threads of GETs and a watch on one client: all succeed; once they
# are done at most TP_DIRECT_IDLE (8) of their connections stay open,
# however many threads (src/kube/direct.c: up to 64 at once), and the
# watch (of PVs) has its lane's HTTP/2 connection.
test_kube_concurrent_requests_use_few_connections() {
  rm -f "$TEST_DIR/hold"
  "$INFORMER_DUMP" --kubeconfig="$PROVISIONER_KUBECONFIG" \
    stress 150 6 /api/v1/persistentvolumes "$TEST_DIR/hold" >"$TEST_DIR/stress.out" 2>"$TEST_DIR/daemon-stress.log" &
  local pid=$! rc=0
  wait_until 60 "the stress run to finish its requests" test -f "$TEST_DIR/hold"
  grep -qx "ok 900 requests" "$TEST_DIR/stress.out" || fail "stress: $(cat "$TEST_DIR/stress.out")"
  local n
  n=$(connections_to_apiserver "$pid")
  rm -f "$TEST_DIR/hold"
  wait_until 30 "the stress run to exit once released" exited "$pid"
  wait "$pid" || rc=$?
  [[ $n -ge 2 && $n -le 9 ]] || fail "$n connections to the API server, want 2 to 9 (8 requests' kept alive, the watch)"
  [[ $rc -eq 0 ]] || fail "stress exited $rc"
}

# SIGTERM while the caches cannot fill (the identity may not list anything):
# the daemon stops within a second, exit 0, instead of waiting two minutes
# for a first list that never comes.
test_kube_sigterm_while_waiting_for_caches() {
  k delete serviceaccount kube-nolist -n default --ignore-not-found >/dev/null
  k create serviceaccount kube-nolist -n default >/dev/null
  local tok t0
  tok=$(k create token kube-nolist -n default)
  sed "s|token: .*|token: $tok|" "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/nolist.kubeconfig"
  PROVISIONER_KUBECONFIG=$TEST_DIR/nolist.kubeconfig start_daemon nolist \
    --csi-address="$CSI_ENDPOINT" --v=2
  wait_log nolist 60 "storageclasses: (watch|list) failed, retrying"
  t0=$SECONDS
  stop_daemon nolist
  ((SECONDS - t0 <= 5)) || fail "took $((SECONDS - t0))s to stop after SIGTERM"
  log_has nolist "stopped while starting" || fail "no 'stopped while starting'"
  k delete serviceaccount kube-nolist -n default >/dev/null
}
