# tests/e2e/test-topology.sh - WaitForFirstConsumer and topology: the selected
# node's segment reaches the driver, and a node that cannot host the volume
# sends the claim back to the scheduler (the selected-node annotation goes).

selected_node_gone() {
  [[ -z $(k get -n "$1" "pvc/$2" -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}') ]]
}

test_wait_for_first_consumer_and_reschedule() {
  new_namespace topo1
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: topo1-wffc
provisioner: $CSI_DRIVER_NAME
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: Node
metadata:
  name: topo1-node-2
  labels:
    topology.hostpath.csi/node: topo1-node-2
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata:
  name: topo1-node-2
spec:
  drivers:
    - name: $CSI_DRIVER_NAME
      nodeID: topo1-node-2
      topologyKeys: [topology.hostpath.csi/node]
YAML
  # strict: the request names only the selected node's segment
  start_daemon main --csi-address="$CSI_ENDPOINT" --strict-topology --v=4
  # no node selected yet: the claim waits
  make_claim topo1 waiting topo1-wffc
  # the scheduler picked the driver's node: provisioned there
  make_wffc_claim topo1 here topo1-wffc "$CSI_NODE_ID"
  wait_bound topo1 here
  local pv
  pv=$(pv_of topo1 here)
  [[ $(jp pv/$pv '{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}') == "$CSI_NODE_ID" ]] ||
    fail "PV not pinned to $CSI_NODE_ID"
  # a node the driver cannot serve: ResourceExhausted, back to the scheduler
  make_wffc_claim topo1 there topo1-wffc topo1-node-2
  wait_until 30 "selected-node to be removed from 'there'" selected_node_gone topo1 there
  wait_until 10 "a reschedule event" event_says topo1 there ProvisioningFailed 'another node'
  wait_until 10 "our mark to leave 'there'" claim_unmarked topo1 there
  # a node without a CSINode: back to the scheduler too
  make_wffc_claim topo1 nowhere topo1-wffc topo1-node-9
  wait_until 30 "selected-node to be removed from 'nowhere'" selected_node_gone topo1 nowhere
  [[ $(k get -n topo1 pvc/waiting -o jsonpath='{.status.phase}') == Pending ]] || fail "waiting is not Pending"
  [[ -z $(pv_of topo1 waiting) ]] || fail "waiting got a volume without a node"
  finish_namespace topo1
  k delete node/topo1-node-2 csinode/topo1-node-2 --wait=false
  stop_daemon main
}
