# tests/e2e/test-flags.sh - a drop-in for the upstream sidecar: the daemon
# starts with the argument lists of upstream's manifests and of public driver
# charts (tests/e2e/data/upstream-args/*.args, each saying where it came from),
# becomes ready and provisions a claim to Bound; lists that ask for a feature
# not built yet are refused with a message naming it. Plus the logging flags.
#
# Only three things in a list are replaced: the socket path (with the test
# cluster's driver socket), a host:port to listen on (with 127.0.0.1 and a
# free port: servers in tests listen on loopback only), nothing else.

UPSTREAM_ARGS_DIR=tests/e2e/data/upstream-args

# args_header FILE KEY - the value of a "# KEY: value" line of FILE.
args_header() { sed -n "s/^# $2: //p" "$1" | head -1; }

# run_upstream_args FILE - start with FILE's arguments and check the outcome it expects.
run_upstream_args() {
  local file=$1 name socket http expect port="" line ns args=()
  name=$(basename "$file" .args)
  socket=$(args_header "$file" socket)
  http=$(args_header "$file" http)
  expect=$(args_header "$file" expect)
  [[ -n $socket && -n $expect ]] || fail "$file lacks its socket: or expect: line"
  [[ -n $http ]] && port=$(free_port)
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    line=${line//"$socket"/"$CSI_ENDPOINT"}
    [[ -n $http ]] && line=${line//"=$http"/"=127.0.0.1:$port"}
    args+=("$line")
  done <"$file"
  echo "arguments: ${args[*]}"

  if [[ $expect == refuse* ]]; then
    local want=${expect#refuse } rc=0 out
    out=$(timeout 30 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" "${args[@]}" 2>&1) || rc=$?
    echo "$out"
    [[ $rc -ne 0 && $rc -ne 124 ]] || fail "$name: exit $rc, want a refusal"
    grep -qF -- "$want" <<<"$out" || fail "$name: the message does not say \"$want\""
    ! grep -q 'unknown flag' <<<"$out" || fail "$name: a flag was unknown"
    return 0
  fi
  [[ $expect == provision ]] || fail "$file: unknown expect: $expect"

  ns=flags-$(tr -cd 'a-z0-9' <<<"$name" | tail -c 40)
  new_namespace "$ns"
  make_class "$ns-class" Delete
  start_daemon main "${args[@]}"
  if [[ -n $http ]]; then
    wait_until 60 "/readyz of $name" curl -fsS "http://127.0.0.1:$port/readyz"
  else
    wait_log main 60 '] running$'
  fi
  ! grep -qE 'unknown flag|not implemented' "$TEST_DIR/daemon-main.log" || fail "$name: a flag was refused"
  make_claim "$ns" data "$ns-class"
  wait_bound "$ns" data
  finish_namespace "$ns"
  k delete storageclass "$ns-class" >/dev/null
  stop_daemon main
}

# One test per list, so each shows up (and fails) by name.
for _f in "$UPSTREAM_ARGS_DIR"/*.args; do
  _n=$(basename "$_f" .args)
  eval "test_upstream_args_${_n//-/_}() { run_upstream_args '$_f'; }"
done
unset _f _n

# JSON logging: every line is one JSON object with ts, caller and msg, and an
# annotation with a newline that reaches a log message stays inside its line.
test_flags_json_logging_escapes() {
  new_namespace flagslog
  make_class flagslog-class Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: ${pvc.annotations['"'"'team'"'"']}
  csi.storage.k8s.io/provisioner-secret-namespace: flagslog'
  k apply -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: forged
  namespace: flagslog
  annotations:
    team: "x\nE0101 00:00:00.000000 1 forged.c:1] forged line"
spec:
  storageClassName: flagslog-class
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  start_daemon main --csi-address="$CSI_ENDPOINT" --logging-format=json --v=5 \
    --retry-interval-start=1s --retry-interval-max=2s
  wait_until 30 "the bad secret name event" event_says flagslog forged ProvisioningFailed 'not a valid Secret name'
  wait_until 30 "the value in the log" grep -qF 'x\nE0101 00:00:00' "$TEST_DIR/daemon-main.log"
  stop_daemon main
  ! grep -q '^E0101' "$TEST_DIR/daemon-main.log" || fail "a forged line reached the log"
  jq -se 'all(has("ts") and has("caller") and has("msg"))' "$TEST_DIR/daemon-main.log" >/dev/null ||
    fail "a line is not a JSON object with ts, caller and msg"
  [[ $(jq -s 'map(select(.v != null)) | length' "$TEST_DIR/daemon-main.log") -gt 0 ]] ||
    fail "no info line carries v"
  finish_namespace flagslog
}

# --metrics-address serves the metrics only (as upstream), and cannot be
# combined with --http-endpoint.
test_flags_metrics_address() {
  local port url rc=0 out
  port=$(free_port)
  url=http://127.0.0.1:$port
  start_daemon main --csi-address="$CSI_ENDPOINT" --metrics-address="127.0.0.1:$port" --enable-pprof
  wait_until 60 "metrics on --metrics-address" curl -fsS "$url/metrics"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/healthz") == 404 ]] || fail "/healthz is served"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/debug/pprof/") == 404 ]] || fail "pprof path answered"
  grep -q -- '--metrics-address is deprecated' "$TEST_DIR/daemon-main.log" || fail "no deprecation warning"
  grep -q -- '--enable-pprof: there is no Go profiler' "$TEST_DIR/daemon-main.log" || fail "no pprof warning"
  stop_daemon main
  out=$(timeout 30 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" \
    --metrics-address=127.0.0.1:1 --http-endpoint=127.0.0.1:2 2>&1) || rc=$?
  [[ $rc -ne 0 ]] || fail "started with both endpoints"
  grep -q 'only one of --metrics-address and --http-endpoint' <<<"$out" || fail "message: $out"
}

# --leader-election-labels reach the Lease; ReleaseLeaderElectionOnExit=false
# leaves the Lease held on an orderly stop (upstream's default behaviour).
test_flags_lease_labels_and_release_gate() {
  new_namespace flagsle
  start_daemon main --csi-address="$CSI_ENDPOINT" --leader-election --leader-election-namespace=flagsle \
    --leader-election-labels=team:storage,tier:gold --feature-gates=ReleaseLeaderElectionOnExit=false
  wait_log main 30 "leads via lease"
  [[ $(k get -n flagsle lease/hostpath-csi-k8s-io -o jsonpath='{.metadata.labels.team}/{.metadata.labels.tier}') == storage/gold ]] ||
    fail "lease labels"
  stop_daemon main
  grep -q 'leaving lease flagsle/hostpath-csi-k8s-io to expire' "$TEST_DIR/daemon-main.log" || fail "no log of keeping the lease"
  [[ -n $(k get -n flagsle lease/hostpath-csi-k8s-io -o jsonpath='{.spec.holderIdentity}') ]] ||
    fail "the Lease was released"
  k delete namespace flagsle --wait=false >/dev/null
}

# --master replaces the kubeconfig's server: with a kubeconfig whose server
# is a port where nothing listens, --master naming the real API server makes
# the daemon provision.
test_flags_master_overrides_server() {
  local server port
  server=$(k config view --kubeconfig "$PROVISIONER_KUBECONFIG" --minify --raw -o jsonpath='{.clusters[0].cluster.server}')
  port=$(free_port)
  k config view --kubeconfig "$PROVISIONER_KUBECONFIG" --minify --raw --flatten -o yaml |
    sed "s#server: .*#server: https://127.0.0.1:$port#" >"$TEST_DIR/wrong-server.kubeconfig"
  grep -q "127.0.0.1:$port" "$TEST_DIR/wrong-server.kubeconfig" || fail "could not rewrite the kubeconfig"
  new_namespace flagsmaster
  make_class flagsmaster-class Delete
  make_claim flagsmaster data flagsmaster-class
  env ${DAEMON_ENV:-} "$BIN" --kubeconfig="$TEST_DIR/wrong-server.kubeconfig" --master="$server/" \
    --csi-address="$CSI_ENDPOINT" >"$TEST_DIR/daemon-main.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-main.pid"
  wait_bound flagsmaster data
  ! grep -q "127.0.0.1:$port" "$TEST_DIR/daemon-main.log" || fail "the kubeconfig's server was used"
  finish_namespace flagsmaster
  k delete storageclass flagsmaster-class >/dev/null
  stop_daemon main
}

# The Topology gate off: the driver has VOLUME_ACCESSIBILITY_CONSTRAINTS, but
# as upstream no topology is used and the PV gets no nodeAffinity.
test_flags_topology_gate_off() {
  new_namespace flagstopo
  make_class flagstopo-class Delete
  make_claim flagstopo data flagstopo-class
  start_daemon main --csi-address="$CSI_ENDPOINT" --feature-gates=Topology=false
  wait_bound flagstopo data
  local pv
  pv=$(pv_of flagstopo data)
  [[ -z $(jp "pv/$pv" '{.spec.nodeAffinity}') ]] || fail "the PV has nodeAffinity with Topology=false"
  grep -q 'setting GA feature gate Topology=false' "$TEST_DIR/daemon-main.log" || fail "no GA gate warning"
  finish_namespace flagstopo
  k delete storageclass flagstopo-class >/dev/null
  stop_daemon main
}

# The VolumeAttributesClass gate off: a claim naming a class is provisioned
# without it (the shared driver has no MODIFY_VOLUME, which with the gate on
# is an error), and the PV names no class, as upstream. (The cluster serves
# the class, so its binder will not bind that PV to the claim: the gate is
# for clusters without VolumeAttributesClass.)
test_flags_vac_gate_off() {
  new_namespace flagsvac
  make_class flagsvac-class Delete
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata:
  name: flagsvac-gold
driverName: $CSI_DRIVER_NAME
parameters:
  iops: "500"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: flagsvac
spec:
  storageClassName: flagsvac-class
  volumeAttributesClassName: flagsvac-gold
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  start_daemon main --csi-address="$CSI_ENDPOINT" --feature-gates=VolumeAttributesClass=false
  local pv
  pv=pvc-$(k get -n flagsvac pvc/data -o jsonpath='{.metadata.uid}')
  wait_until 60 "the PV of flagsvac/data" k get "pv/$pv"
  [[ $(jp "pv/$pv" '{.spec.claimRef.name}') == data ]] || fail "the PV is not for the claim"
  [[ -z $(jp "pv/$pv" '{.spec.volumeAttributesClassName}') ]] ||
    fail "the PV names the VolumeAttributesClass with the gate off"
  ! event_says flagsvac data ProvisioningFailed 'MODIFY_VOLUME' || fail "the class was used"
  finish_namespace flagsvac
  k delete storageclass/flagsvac-class volumeattributesclass/flagsvac-gold --wait=false >/dev/null
  stop_daemon main
}
