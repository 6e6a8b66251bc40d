# tests/chaos/scenarios-cluster.sh - the control plane fails under the
# workload: (c) kube-apiserver and etcd killed -9 and started again, (d)
# kube-apiserver paused (SIGSTOP) and resumed; and a check that the
# invariant checker itself catches what it must. Sourced by tests/chaos/run.

# ---- (c) kube-apiserver and/or etcd killed -9, then started again ----

C_WHAT=()
c_kill() {
  local -a sets=("etcd kube-apiserver" "kube-apiserver" "etcd")
  local what=${sets[RANDOM % 3]}
  # shellcheck disable=SC2086 # a word list on purpose
  restart_component $what
  C_WHAT+=("${what// /+}")
}

scenario_apiserver_etcd_killed() {
  one_daemon_scenario cc c "$(pick 24 500)" "$(pick 6 50)" "$(pick 2 5)" c_kill
  report "restarts $FAULTS_DONE (${C_WHAT[*]})"
}

# ---- (d) kube-apiserver paused past the daemon's timeouts ----

# Brief: 10 s, long enough for the renewals, requests and watches in flight
# to stall. Long: 310 s, past the daemon's watch timeout (300 s: on resume
# the server ends every watch at once) and its 60 s request timeout.
D_PAUSED=0
d_pause() {
  local pid secs
  pid=$(cat "$CLUSTER_DIR/pids/kube-apiserver.pid")
  secs=$(pick 10 310)
  kill -STOP "$pid"
  sleep "$secs"   # the fault's length, not a synchronisation
  kill -CONT "$pid"
  D_PAUSED=$((D_PAUSED + secs))
}

scenario_apiserver_paused() {
  one_daemon_scenario cd d "$(pick 24 500)" "$(pick 6 50)" "$(pick 1 2)" d_pause
  report "pauses $FAULTS_DONE (${D_PAUSED}s in all)"
}

# ---- the checker: each kind of violation is found ----

# With no daemon serving the class: a live claim left Pending, a volume
# without PV or intent, a Released Delete PV whose claim is gone, a claim
# held by a finalizer, and an intent left in the journal. Each must be
# reported, and nothing else.
scenario_checker_finds_violations() {
  local out jns=chaos-checker-j id
  new_namespace cx
  new_namespace "$jns"
  make_class chaos-cx Delete >/dev/null
  claim_post cx pending chaos-cx
  id=$(cc "$CSI_ENDPOINT" create cx-orphan 1048576 | sed -n 's/^volume_id=\([^ ]*\).*/\1/p')
  [[ -n $id ]] || fail "no volume created"
  k create -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: cx-released
  annotations: {pv.kubernetes.io/provisioned-by: $CSI_DRIVER_NAME}
spec:
  capacity: {storage: 1Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: chaos-cx
  claimRef: {namespace: cx, name: gone, uid: 00000000-0000-0000-0000-000000000000}
  csi: {driver: $CSI_DRIVER_NAME, volumeHandle: cx-no-such-volume}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: held
  namespace: cx
  finalizers: [chaos.test/hold]
spec:
  storageClassName: chaos-none
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: csi-provisioner-journal-chaos-0
  namespace: $jns
  labels: {csi-provisioner.dev/journal: chaos}
  annotations:
    intent.csi-provisioner.dev/cx-stale: '{"claim":{"namespace":"cx","name":"stale"}}'
YAML
  k delete -n cx pvc/held --wait=false >/dev/null
  if out=$("$ROOT/tests/chaos/check-invariants" --namespaces=cx --journal-namespace="$jns" \
             --prefix=cx --settle=3 --state="$CLUSTER_DIR/hostpath-state/state.json"); then
    fail "the checker passed: $out"
  fi
  echo "$out"
  local want=(
    "claim cx/pending is Pending, not Bound"
    "volume $id (cx-orphan) has no PV and no journal intent: leaked"
    "PV cx-released has 0 volumes with its handle cx-no-such-volume"
    "PV cx-released (Delete) outlived its claim cx/gone"
    "claim cx/held is being deleted but held by chaos.test/hold"
    "intent cx-stale is still in the journal (claim cx/stale)"
  )
  for w in "${want[@]}"; do
    grep -qF -- "VIOLATION: $w" <<<"$out" || fail "not reported: $w"
  done
  (($(grep -c VIOLATION <<<"$out") == ${#want[@]})) || fail "more violations than planted"
  k patch -n cx pvc/held --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
  k delete pv/cx-released --wait=false >/dev/null
  k delete namespace cx "$jns" --wait=false >/dev/null
  cc "$CSI_ENDPOINT" delete "$id" >/dev/null
  CREATED=2 DELETED=1
  report "violations planted ${#want[@]}, all found"
}
