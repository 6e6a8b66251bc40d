# tests/e2e/test-node.sh - node deployment (--node-deployment): one hostpath
# driver and one daemon per node (NODE_NAME = that node), as a DaemonSet
# would run them. Claims selected for a node are provisioned only by that
# node's instance (each driver's own state file says which volumes it
# holds); claims with Immediate binding are taken by exactly one instance
# (fifty at once: fifty volumes in all, none twice, each PV's affinity naming
# the node whose driver holds it); deletion goes to the instance of the
# volume's node; capacity objects are per node; bad set-ups stop start-up,
# and preflight reports them.

ND_KEY=topology.hostpath.csi/node

# nd_nodes NODE... - Node objects with the driver's topology label, and CSINodes listing it.
nd_nodes() {
  local n
  for n in "$@"; do
    k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels: { $ND_KEY: $n }
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata:
  name: $n
spec:
  drivers: [{ name: $CSI_DRIVER_NAME, nodeID: $n, topologyKeys: [$ND_KEY] }]
YAML
  done
}

# nd_driver NODE [DRIVER-FLAGS...] - a hostpath driver serving NODE, in $TEST_DIR/drv-NODE.
nd_driver() {
  local n=$1 d=$TEST_DIR/drv-$1
  shift
  mkdir -p "$d"
  "$PEERS_BIN/csi-hostpath" --endpoint="unix://$d/csi.sock" --nodeid="$n" \
    --drivername="$CSI_DRIVER_NAME" --statedir="$d/state" "$@" >"$d/driver.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-zz-driver-$n.pid"   # "zz": stop_daemons stops it after the daemons
  wait_until 30 "the driver of $n" test -S "$d/csi.sock"
}

# nd_daemon NODE [ARGS...] - our daemon beside NODE's driver.
nd_daemon() {
  local n=$1
  shift
  DAEMON_ENV="NODE_NAME=$n ${DAEMON_ENV:-}" start_daemon "$n" \
    --csi-address="unix://$TEST_DIR/drv-$n/csi.sock" --node-deployment "$@"
}

# nd_volumes NODE - the volume ids NODE's driver holds, one a line.
nd_volumes() {
  local f=$TEST_DIR/drv-$1/state/state.json
  [[ -f $f ]] || return 0
  jq -r '.volumes // {} | keys[]' "$f"
}
nd_count() { nd_volumes "$1" | grep -c . || true; }
nd_holds() { grep -qx -- "$2" <<<"$(nd_volumes "$1")"; }
nd_count_is() { [[ $(nd_count "$1") == "$2" ]]; }

# nd_pv_node PV - the node value of the PV's affinity.
nd_pv_node() {
  jp "pv/$1" '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}'
}

nd_all_bound() {
  [[ $(k get pvc -n "$1" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' |
    grep -cx Bound) == "$2" ]]
}

test_node_selected_claims_go_to_their_node() {
  local n pv h
  new_namespace nd1
  nd_nodes nd1-a nd1-b nd1-c
  cap_class nd1-wffc WaitForFirstConsumer
  for n in nd1-a nd1-b nd1-c; do nd_driver "$n"; done
  for n in nd1-a nd1-b nd1-c; do nd_daemon "$n" --v=5; done
  for n in nd1-a nd1-b nd1-c; do wait_log "$n" 60 "node deployment: node $n, driver node id $n"; done
  for n in nd1-a nd1-b nd1-c; do
    make_wffc_claim nd1 "c-$n" nd1-wffc "$n" >/dev/null
  done
  # a node without an instance: nobody provisions it
  make_wffc_claim nd1 c-nobody nd1-wffc nd1-gone >/dev/null
  for n in nd1-a nd1-b nd1-c; do
    wait_bound nd1 "c-$n" 90
    pv=$(pv_of nd1 "c-$n")
    h=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
    nd_holds "$n" "$h" || fail "volume $h of c-$n is not on $n's driver"
    [[ $(nd_pv_node "$pv") == "$n" ]] || fail "PV $pv affinity $(nd_pv_node "$pv"), want $n"
    [[ $(jp "pv/$pv" '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key}') == "$ND_KEY" ]] ||
      fail "PV $pv affinity key"
  done
  for n in nd1-a nd1-b nd1-c; do nd_count_is "$n" 1 || fail "$n's driver holds $(nd_count "$n") volumes"; done
  # the others saw the claim and left it: each instance logs only its own
  for n in nd1-a nd1-b nd1-c; do
    grep -q "claim nd1/c-nobody: selected for another node" "$TEST_DIR/daemon-$n.log" ||
      fail "$n did not judge c-nobody"
  done
  [[ $(k get pvc -n nd1 c-nobody -o jsonpath='{.status.phase}') == Pending ]] || fail "c-nobody left Pending"
  # deletion: each volume goes from its own driver (another instance would get
  # NotFound from its driver and call that a success, leaking the volume)
  k delete pvc -n nd1 c-nd1-a c-nd1-b c-nd1-c >/dev/null
  for n in nd1-a nd1-b nd1-c; do
    wait_until 90 "$n's volume to go" nd_count_is "$n" 0
  done
  finish_namespace nd1
  for n in nd1-a nd1-b nd1-c; do stop_daemon "$n"; done
  # one journal per node, named after it (whatever kind of object holds it)
  for n in nd1-a nd1-b nd1-c; do
    grep -q "/csi-provisioner-journal-hostpath.csi.k8s.io-$n-0\$" <<<"$(k get configmaps,leases -n "$(journal_ns)" -o name)" ||
      fail "no journal of $n"
  done
  k delete storageclass nd1-wffc >/dev/null
  k delete node nd1-a nd1-b nd1-c >/dev/null
  k delete csinode nd1-a nd1-b nd1-c >/dev/null
}

# Fifty claims with Immediate binding at once, three instances: each claim
# taken by exactly one (selected-node annotation with a resourceVersion
# precondition), fifty volumes in all.
test_node_immediate_binding_one_volume_per_claim() {
  local n i pv h node total=0 conflicts=0 took
  new_namespace nd2
  nd_nodes nd2-a nd2-b nd2-c
  cap_class nd2-imm Immediate
  for n in nd2-a nd2-b nd2-c; do nd_driver "$n"; done
  # short delays: the race between instances is the point
  for n in nd2-a nd2-b nd2-c; do
    nd_daemon "$n" --node-deployment-base-delay=500ms --node-deployment-max-delay=4s --v=5
  done
  for n in nd2-a nd2-b nd2-c; do wait_log "$n" 60 "\\] running$"; done
  took=$SECONDS
  for i in $(seq 1 50); do
    cat <<YAML
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: c$i, namespace: nd2 }
spec:
  storageClassName: nd2-imm
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 1Mi } }
YAML
  done | k apply -f - >/dev/null
  wait_until 400 "fifty claims bound" nd_all_bound nd2 50
  echo "fifty claims bound in $((SECONDS - took))s"
  for n in nd2-a nd2-b nd2-c; do total=$((total + $(nd_count "$n"))); done
  [[ $total == 50 ]] || fail "$total volumes in the drivers for 50 claims"
  for i in $(seq 1 50); do
    pv=$(pv_of nd2 "c$i")
    h=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
    node=$(nd_pv_node "$pv")
    nd_holds "$node" "$h" || fail "c$i: PV $pv names $node, whose driver lacks $h"
    [[ $(k get pvc -n nd2 "c$i" -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}') == "$node" ]] ||
      fail "c$i: selected node is not $node"
  done
  for n in nd2-a nd2-b nd2-c; do
    echo "$n: $(nd_count "$n") volumes, $(grep -c 'became its owner' "$TEST_DIR/daemon-$n.log") taken," \
      "$(grep -c 'conflict while selecting node' "$TEST_DIR/daemon-$n.log") conflicts"
  done
  # deletion reaches the right driver for every one
  k delete pvc -n nd2 --all >/dev/null
  for n in nd2-a nd2-b nd2-c; do wait_until 120 "$n's volumes to go" nd_count_is "$n" 0; done
  finish_namespace nd2
  for n in nd2-a nd2-b nd2-c; do stop_daemon "$n"; done
  k delete storageclass nd2-imm >/dev/null
  k delete node nd2-a nd2-b nd2-c >/dev/null
  k delete csinode nd2-a nd2-b nd2-c >/dev/null
}

# --node-deployment-immediate-binding=false: a claim with Immediate binding
# and no selected node is nobody's, until something selects a node.
test_node_immediate_binding_off() {
  local pv
  new_namespace nd3
  cap_class nd3-imm Immediate
  nd_driver nd3-a
  nd_daemon nd3-a --node-deployment-immediate-binding=false --node-deployment-base-delay=100ms \
    --node-deployment-max-delay=100ms --v=5
  wait_log nd3-a 60 "\\] running$"
  make_claim nd3 free nd3-imm >/dev/null
  wait_log nd3-a 30 "claim nd3/free: no node selected, and not one to take"
  [[ $(k get pvc -n nd3 free -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}') == "" ]] ||
    fail "the claim was taken"
  nd_count_is nd3-a 0 || fail "a volume was made"
  # a custom controller selects the node: now it is provisioned
  k annotate pvc -n nd3 free volume.kubernetes.io/selected-node=nd3-a >/dev/null
  wait_bound nd3 free 60
  pv=$(pv_of nd3 free)
  nd_holds nd3-a "$(jp "pv/$pv" '{.spec.csi.volumeHandle}')" || fail "the volume is not on nd3-a"
  finish_namespace nd3
  stop_daemon nd3-a
  k delete storageclass nd3-imm >/dev/null
}

# Capacity tracking in node deployment: each instance publishes its own
# node's segment only, marked as its own (managed-by external-provisioner-<node>).
test_node_capacity_per_node() {
  local n
  new_namespace nd4
  nd_nodes nd4-a nd4-b
  cap_class nd4-wffc WaitForFirstConsumer
  for n in nd4-a nd4-b; do nd_driver "$n"; done
  for n in nd4-a nd4-b; do
    DAEMON_ENV="NAMESPACE=nd4" nd_daemon "$n" --enable-capacity --capacity-ownerref-level=-1 \
      --capacity-poll-interval=1h --v=5
  done
  for n in nd4-a nd4-b; do
    wait_until 60 "the object of $n" nd_cap_is nd4 "$n" 1
    [[ $(k get csistoragecapacities -n nd4 -l "csi.storage.k8s.io/managed-by=external-provisioner-$n" \
      -o jsonpath='{.items[0].capacity}') == 1Ti ]] || fail "$n's capacity"
  done
  # nobody publishes the segments of other nodes (there are more Nodes than instances)
  [[ $(k get csistoragecapacities -n nd4 -o json | jq '.items | length') == 2 ]] ||
    fail "objects: $(k get csistoragecapacities -n nd4 -o json | jq -c '[.items[] | .metadata.labels]')"
  for n in nd4-a nd4-b; do stop_daemon "$n"; done
  k delete storageclass nd4-wffc >/dev/null
  k delete namespace nd4 --wait=false >/dev/null
  k delete node nd4-a nd4-b >/dev/null
  k delete csinode nd4-a nd4-b >/dev/null
}

# nd_cap_is NS NODE N - N objects managed by NODE's instance, all for NODE's segment.
nd_cap_is() {
  k get csistoragecapacities -n "$1" -l "csi.storage.k8s.io/managed-by=external-provisioner-$2" -o json |
    jq -e --arg n "$2" --argjson want "$3" \
      '(.items | length) == $want and all(.items[]; .nodeTopology.matchLabels["'"$ND_KEY"'"] == $n)'
}

# Set-ups that cannot work stop start-up with a clear message.
test_node_bad_setups() {
  local rc=0 out
  out=$(timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" \
    --node-deployment 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc without NODE_NAME"
  grep -q 'NODE_NAME environment variable must be set' <<<"$out" || fail "message: $out"
  rc=0
  out=$(NODE_NAME='Bad/Node' timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" \
    --csi-address="$CSI_ENDPOINT" --node-deployment 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc with a bad NODE_NAME"
  grep -q 'NODE_NAME' <<<"$out" || fail "message: $out"
  rc=0
  out=$(NODE_NAME=node-1 timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" \
    --csi-address="$CSI_ENDPOINT" --node-deployment --leader-election 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc with --leader-election"
  grep -q 'do not go together' <<<"$out" || fail "message: $out"
  # without topology no instance could tell its node's volumes from the others'
  rc=0
  out=$(NODE_NAME=node-1 timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" \
    --csi-address="$CSI_ENDPOINT" --node-deployment --feature-gates=Topology=false 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc with the Topology gate off"
  grep -q 'node-deployment needs topology' <<<"$out" || fail "message: $out"
}

# preflight knows node deployment: NODE_NAME, NodeGetInfo and topology, as start-up checks them
test_node_preflight() {
  local rc=0 j=$TEST_DIR/pf.json
  nd_driver nd5-a
  "$BIN" preflight --kubeconfig="$PROVISIONER_KUBECONFIG" -o json \
    --csi-address="unix://$TEST_DIR/drv-nd5-a/csi.sock" --node-deployment >"$j" || rc=$?
  [[ $rc == 1 ]] || { cat "$j"; fail "preflight exited $rc without NODE_NAME"; }
  jq -e '[.blockers[] | select(.cause == "node")] | length == 1 and
         (.[0].message | test("NODE_NAME environment variable must be set"))' "$j" >/dev/null ||
    { cat "$j"; fail "no node blocker without NODE_NAME"; }
  rc=0
  NODE_NAME=nd5-a "$BIN" preflight --kubeconfig="$PROVISIONER_KUBECONFIG" -o json \
    --csi-address="unix://$TEST_DIR/drv-nd5-a/csi.sock" --node-deployment >"$j" || rc=$?
  jq -e --arg key "$ND_KEY" '.node.node_name == "nd5-a" and .node.node_id == "nd5-a" and
         .node.topology[$key] == "nd5-a" and ([.blockers[] | select(.cause == "node")] | length) == 0' \
    "$j" >/dev/null || { cat "$j"; fail "preflight's node section (exit $rc)"; }
  rc=0
  NODE_NAME=nd5-a "$BIN" preflight --kubeconfig="$PROVISIONER_KUBECONFIG" \
    --csi-address="unix://$TEST_DIR/drv-nd5-a/csi.sock" --node-deployment \
    --feature-gates=Topology=false >"$TEST_DIR/pf.txt" || rc=$?
  [[ $rc == 1 ]] && grep -q 'node-deployment needs topology' "$TEST_DIR/pf.txt" &&
    grep -q 'driver node id: *nd5-a' "$TEST_DIR/pf.txt" ||
    { cat "$TEST_DIR/pf.txt"; fail "preflight with the Topology gate off (exit $rc)"; }
}
