# tests/e2e/test-capacity.sh - storage capacity tracking (--enable-capacity):
# CSIStorageCapacity objects per node segment and WaitForFirstConsumer class,
# with the driver's GetCapacity; they follow a provision and a delete (the
# poll interval is an hour here, so only our refresh can move them), go with
# their segment and their class, leave other owners' objects alone, and carry
# the owner reference of the configured level (Pod, ReplicaSet, Deployment
# made by the test; no controller runs for them).

CAP_SELECTOR=csi.storage.k8s.io/managed-by=external-provisioner

# cap_field NS CLASS NODE FIELD - FIELD of our one object for (CLASS, NODE's
# segment): its value, "none" when unset, or "count=N" unless exactly one.
cap_field() {
  k get csistoragecapacities -n "$1" -l "$CAP_SELECTOR" -o json |
    jq -r --arg c "$2" --arg n "$3" --arg f "$4" '
      [.items[] | select(.storageClassName == $c and
        .nodeTopology.matchLabels["topology.hostpath.csi/node"] == $n)] |
      if length == 1 then (.[0][$f] // "none") else "count=\(length)" end'
}
cap_is() { [[ $(cap_field "$1" "$2" "$3" "$4") == "$5" ]]; }

# cap_count NS CLASS - how many of our objects name CLASS.
cap_count() {
  k get csistoragecapacities -n "$1" -l "$CAP_SELECTOR" -o json |
    jq --arg c "$2" '[.items[] | select(.storageClassName == $c)] | length'
}
cap_count_is() { [[ $(cap_count "$1" "$2") == "$3" ]]; }

# cap_owner NS CLASS NODE - "Kind/name/uid controller" of the object's owner references.
cap_owner() {
  k get csistoragecapacities -n "$1" -l "$CAP_SELECTOR" -o json |
    jq -r --arg c "$2" --arg n "$3" '
      [.items[] | select(.storageClassName == $c and
        .nodeTopology.matchLabels["topology.hostpath.csi/node"] == $n)] |
      if length == 1 then ([.[0].metadata.ownerReferences[]? |
        "\(.kind)/\(.name)/\(.uid) \(.controller)"] | join(",")) else "count=\(length)" end'
}
cap_owner_is() { [[ $(cap_owner "$1" "$2" "$3") == "$4" ]]; }

object_gone() { ! k get "$1" -n "$2" >/dev/null 2>&1; }

# rv_of NS OBJECT - its resourceVersion.
rv_of() { k get -n "$1" "$2" -o jsonpath='{.metadata.resourceVersion}'; }

metric_is() { [[ $(metric_value "$1" "$2") == "$3" ]]; }

# metric_at_least URL SERIES N
metric_at_least() { local v; v=$(metric_value "$1" "$2") && (( v >= $3 )); }

# cap_nodes PREFIX N... - Nodes PREFIX-N labelled with the driver's topology key, and CSINodes listing it.
cap_nodes() {
  local p=$1 n
  shift
  for n in "$@"; do
    k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $p-$n
  labels:
    topology.hostpath.csi/node: $p-$n
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata:
  name: $p-$n
spec:
  drivers:
    - name: $CSI_DRIVER_NAME
      nodeID: $p-$n
      topologyKeys: [topology.hostpath.csi/node]
YAML
  done
}

# cap_object NS NAME MANAGED-BY CLASS NODE CAPACITY - a CSIStorageCapacity made by hand.
cap_object() {
  k apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata:
  name: $2
  namespace: $1
  labels:
    csi.storage.k8s.io/drivername: $CSI_DRIVER_NAME
    csi.storage.k8s.io/managed-by: $3
storageClassName: $4
nodeTopology:
  matchLabels:
    topology.hostpath.csi/node: $5
capacity: $6
YAML
}

# cap_class NAME BINDING [KIND] - a class of ours (with parameter kind: KIND when given).
cap_class() {
  k apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $1
provisioner: $CSI_DRIVER_NAME
reclaimPolicy: Delete
volumeBindingMode: $2
${3:+parameters: { kind: $3 \}}
YAML
}

# cap_workload KIND NAME NS [OWNER-KIND OWNER-NAME OWNER-UID] - a Deployment or
# ReplicaSet of one pod (nothing runs it), controlled by the owner when given.
cap_workload() {
  k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: $1
metadata:
  name: $2
  namespace: $3
${4:+  ownerReferences: [{ apiVersion: apps/v1, kind: $4, name: $5, uid: $6, controller: true \}]}
spec:
  replicas: 1
  selector: { matchLabels: { app: $2 } }
  template:
    metadata: { labels: { app: $2 } }
    spec:
      containers: [{ name: c, image: registry.invalid/none }]
YAML
}

test_capacity_follows_volumes_segments_and_classes() {
  local port url foreign_rv
  new_namespace cap1
  new_namespace cap1-own
  start_private_driver --capacity=fast=100Mi
  cap_nodes cap1 node-2 node-3
  cap_class cap1-wffc WaitForFirstConsumer fast
  cap_class cap1-imm Immediate fast
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: cap1-pod
  namespace: cap1-own
spec:
  containers: [{ name: c, image: registry.invalid/none }]
YAML
  # another owner's object (other managed-by) and a stale one of ours
  cap_object cap1-own foreign someone-else cap1-wffc "$CSI_NODE_ID" 1Gi
  cap_object cap1-own stale external-provisioner cap1-gone "$CSI_NODE_ID" 1Gi
  foreign_rv=$(rv_of cap1-own csistoragecapacity/foreign)
  port=$(free_port)
  url=http://127.0.0.1:$port
  DAEMON_ENV="NAMESPACE=cap1-own POD_NAME=cap1-pod" start_daemon main \
    --csi-address="$PRIVATE_ENDPOINT" --enable-capacity --capacity-poll-interval=1h \
    --capacity-ownerref-level=0 --http-endpoint="127.0.0.1:$port" --v=5

  # one object per segment: the driver's node has the pool, the others nothing
  wait_until 60 "the object of $CSI_NODE_ID" cap_is cap1-own cap1-wffc "$CSI_NODE_ID" capacity 100Mi
  wait_until 30 "the object of cap1-node-2" cap_is cap1-own cap1-wffc cap1-node-2 capacity 0
  wait_until 30 "the object of cap1-node-3" cap_is cap1-own cap1-wffc cap1-node-3 capacity 0
  # the driver reports no maximum volume size, so there is none
  cap_is cap1-own cap1-wffc "$CSI_NODE_ID" maximumVolumeSize none || fail "a maximumVolumeSize appeared"
  [[ $(k get csistoragecapacity -n cap1-own -l "$CAP_SELECTOR" -o jsonpath='{.items[0].metadata.labels.csi\.storage\.k8s\.io/drivername}') == "$CSI_DRIVER_NAME" ]] ||
    fail "drivername label"
  cap_owner_is cap1-own cap1-wffc "$CSI_NODE_ID" \
    "Pod/cap1-pod/$(k get -n cap1-own pod/cap1-pod -o jsonpath='{.metadata.uid}') true" ||
    fail "owner: $(cap_owner cap1-own cap1-wffc "$CSI_NODE_ID")"
  cap_count_is cap1-own cap1-imm 0 || fail "objects for a class with Immediate binding"
  wait_until 30 "the stale object to go" object_gone csistoragecapacity/stale cap1-own
  # a second object of ours for the same class and segment is a duplicate: it goes
  cap_object cap1-own zz-duplicate external-provisioner cap1-wffc "$CSI_NODE_ID" 1Gi
  wait_until 30 "the duplicate to go" object_gone csistoragecapacity/zz-duplicate cap1-own
  cap_is cap1-own cap1-wffc "$CSI_NODE_ID" capacity 100Mi || fail "the original went instead"
  wait_until 10 "csistoragecapacities_desired_current" \
    metric_at_least "$url/metrics" csistoragecapacities_desired_current 3
  wait_until 10 "csistoragecapacities_obsolete 0" metric_is "$url/metrics" csistoragecapacities_obsolete 0
  metric_at_least "$url/metrics" csistoragecapacities_desired_goal 3 || fail "goal metric"

  # a provision on the driver's node, then its deletion, move its object
  make_wffc_claim cap1 data cap1-wffc "$CSI_NODE_ID" 10Mi
  wait_bound cap1 data
  wait_until 30 "capacity 90Mi after the provision" cap_is cap1-own cap1-wffc "$CSI_NODE_ID" capacity 90Mi
  local pv
  pv=$(pv_of cap1 data)
  k delete -n cap1 pvc/data --wait=false >/dev/null
  k wait "pv/$pv" --for=delete --timeout=60s >/dev/null
  wait_until 30 "capacity 100Mi after the delete" cap_is cap1-own cap1-wffc "$CSI_NODE_ID" capacity 100Mi

  # a node that goes takes its segment's object along; the class takes the rest
  k delete node/cap1-node-3 csinode/cap1-node-3 >/dev/null
  wait_until 30 "the object of cap1-node-3 to go" cap_is cap1-own cap1-wffc cap1-node-3 capacity count=0
  cap_is cap1-own cap1-wffc cap1-node-2 capacity 0 || fail "cap1-node-2's object went too"
  k delete storageclass cap1-wffc >/dev/null
  wait_until 30 "the class's objects to go" cap_count_is cap1-own cap1-wffc 0
  [[ $(rv_of cap1-own csistoragecapacity/foreign) == "$foreign_rv" ]] ||
    fail "another owner's object was touched"
  stop_daemon main
  finish_namespace cap1
  k delete node/cap1-node-2 csinode/cap1-node-2 storageclass/cap1-imm >/dev/null
  k delete namespace cap1-own --wait=false >/dev/null
}

# Levels 0, 1 and 2 in turn on one object: each run takes the object of the
# previous one over (same name) and sets its own owner: the Pod, its
# ReplicaSet, the ReplicaSet's Deployment. --capacity-for-immediate-binding
# covers the class with Immediate binding.
test_capacity_owner_levels() {
  local dep_uid rs_uid pod_uid name level want
  new_namespace cap2
  cap_class cap2-imm Immediate
  cap_workload Deployment cap2-ctl cap2
  dep_uid=$(k get -n cap2 deployment/cap2-ctl -o jsonpath='{.metadata.uid}')
  cap_workload ReplicaSet cap2-ctl-5d4f cap2 Deployment cap2-ctl "$dep_uid"
  rs_uid=$(k get -n cap2 replicaset/cap2-ctl-5d4f -o jsonpath='{.metadata.uid}')
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: cap2-ctl-5d4f-x7k2p
  namespace: cap2
  labels: { app: cap2-ctl-5d4f }
  ownerReferences:
    - { apiVersion: apps/v1, kind: ReplicaSet, name: cap2-ctl-5d4f, uid: $rs_uid, controller: true }
spec:
  containers: [{ name: c, image: registry.invalid/none }]
YAML
  pod_uid=$(k get -n cap2 pod/cap2-ctl-5d4f-x7k2p -o jsonpath='{.metadata.uid}')
  for level in 0 1 2; do
    case $level in
      0) want="Pod/cap2-ctl-5d4f-x7k2p/$pod_uid true" ;;
      1) want="ReplicaSet/cap2-ctl-5d4f/$rs_uid true" ;;
      2) want="Deployment/cap2-ctl/$dep_uid true" ;;
    esac
    DAEMON_ENV="NAMESPACE=cap2 POD_NAME=cap2-ctl-5d4f-x7k2p" start_daemon "level$level" \
      --csi-address="$CSI_ENDPOINT" --enable-capacity --capacity-for-immediate-binding \
      --capacity-ownerref-level="$level" --v=5
    wait_until 60 "the owner at level $level" cap_owner_is cap2 cap2-imm "$CSI_NODE_ID" "$want"
    cap_is cap2 cap2-imm "$CSI_NODE_ID" capacity 1Ti || fail "capacity: $(cap_field cap2 cap2-imm "$CSI_NODE_ID" capacity)"
    if [[ $level == 0 ]]; then
      name=$(k get csistoragecapacity -n cap2 -l "$CAP_SELECTOR" -o json |
        jq -r '.items[] | select(.storageClassName == "cap2-imm" and .nodeTopology.matchLabels["topology.hostpath.csi/node"] == "'"$CSI_NODE_ID"'") | .metadata.name')
    fi
    stop_daemon "level$level"
    [[ $(cap_field cap2 cap2-imm "$CSI_NODE_ID" metadata | jq -r .name) == "$name" ]] ||
      fail "level $level made a new object instead of taking $name over"
  done
  k delete storageclass cap2-imm >/dev/null
  k delete namespace cap2 --wait=false >/dev/null
}

# As upstream: without NAMESPACE, or without POD_NAME for an owner, start-up stops.
test_capacity_needs_namespace_and_pod() {
  local rc=0 out
  out=$(timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" \
    --enable-capacity 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc without NAMESPACE"
  grep -q 'need the NAMESPACE environment variable' <<<"$out" || fail "message: $out"
  rc=0
  out=$(NAMESPACE=default timeout 60 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" \
    --csi-address="$CSI_ENDPOINT" --enable-capacity 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc without POD_NAME"
  grep -q 'need the POD_NAME environment variable' <<<"$out" || fail "message: $out"
  rc=0
  out=$(NAMESPACE=default POD_NAME=no-such-pod timeout 60 "$BIN" \
    --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" --enable-capacity 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc with a missing pod"
  grep -q 'looking up the owner of pod default/no-such-pod' <<<"$out" || fail "message: $out"
}

# Only the leader publishes: a standby reads nothing into objects and writes
# none; once the leader stops (and hands the Lease over) the standby takes
# the same objects over, with no duplicate, and polls without writing while
# nothing changes.
# polls_at_least DAEMON NAME N - the daemon found NAME unchanged N times.
polls_at_least() { (( $(grep -c "capacity: $2 unchanged" "$TEST_DIR/daemon-$1.log") >= $3 )); }

test_capacity_only_the_leader_writes() {
  local name rv
  new_namespace cap3
  cap_class cap3-wffc WaitForFirstConsumer
  DAEMON_ENV="NAMESPACE=cap3" start_daemon a --csi-address="$CSI_ENDPOINT" --enable-capacity \
    --capacity-ownerref-level=-1 --leader-election --leader-election-namespace=cap3 --v=5
  wait_until 60 "the leader's object" cap_is cap3 cap3-wffc "$CSI_NODE_ID" capacity 1Ti
  name=$(cap_field cap3 cap3-wffc "$CSI_NODE_ID" metadata | jq -r .name)
  rv=$(rv_of cap3 "csistoragecapacity/$name")
  # b polls every second: nothing changed, so nothing is written
  DAEMON_ENV="NAMESPACE=cap3" start_daemon b --csi-address="$CSI_ENDPOINT" --enable-capacity \
    --capacity-ownerref-level=-1 --leader-election --leader-election-namespace=cap3 --v=5 \
    --capacity-poll-interval=1s
  wait_log b 30 'is a candidate for lease'
  ! grep -q 'capacity: publishing' "$TEST_DIR/daemon-b.log" || fail "the standby publishes"
  stop_daemon a
  wait_log b 60 'leads via lease'
  wait_log b 30 'capacity: publishing'
  wait_until 30 "b to judge every object" grep -qE 'capacity: [0-9]+ topology segments' "$TEST_DIR/daemon-b.log"
  ! grep -q 'capacity: created' "$TEST_DIR/daemon-b.log" || fail "the new leader made a new object"
  cap_is cap3 cap3-wffc "$CSI_NODE_ID" capacity 1Ti || fail "objects: $(cap_field cap3 cap3-wffc "$CSI_NODE_ID" capacity)"
  [[ $(cap_field cap3 cap3-wffc "$CSI_NODE_ID" metadata | jq -r .name) == "$name" ]] || fail "the object changed"
  wait_until 30 "three polls of b" polls_at_least b "$name" 3
  [[ $(rv_of cap3 "csistoragecapacity/$name") == "$rv" ]] || fail "an unchanged object was written"
  stop_daemon b
  k delete storageclass cap3-wffc >/dev/null
  k delete namespace cap3 --wait=false >/dev/null
}

# A driver without topology: one object per class, selecting every node,
# refreshed by class after a provision (the volume has no segment).
test_capacity_without_topology() {
  local sel
  new_namespace cap4
  start_private_driver --enable-topology=false --capacity=fast=50Mi
  cap_class cap4-wffc WaitForFirstConsumer fast
  DAEMON_ENV="NAMESPACE=cap4" start_daemon main --csi-address="$PRIVATE_ENDPOINT" \
    --enable-capacity --capacity-ownerref-level=-1 --capacity-poll-interval=1h --v=5
  wait_until 60 "one object for the class" cap_count_is cap4 cap4-wffc 1
  sel=$(k get csistoragecapacity -n cap4 -l "$CAP_SELECTOR" -o json | jq -c '.items[0].nodeTopology')
  [[ $sel == '{}' ]] || fail "nodeTopology $sel, want the empty selector"
  [[ $(k get csistoragecapacity -n cap4 -l "$CAP_SELECTOR" -o jsonpath='{.items[0].capacity}') == 50Mi ]] ||
    fail "capacity"
  make_wffc_claim cap4 data cap4-wffc "$CSI_NODE_ID" 20Mi
  wait_bound cap4 data
  wait_until 30 "capacity 30Mi after the provision" cap_capacity_is cap4 30Mi
  finish_namespace cap4
  k delete storageclass cap4-wffc >/dev/null
  stop_daemon main
}

cap_capacity_is() {
  [[ $(k get csistoragecapacity -n "$1" -l "$CAP_SELECTOR" -o jsonpath='{.items[*].capacity}') == "$2" ]]
}
