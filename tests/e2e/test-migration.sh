# tests/e2e/test-migration.sh - CSI migration of an in-tree plugin: a driver
# of our own runs as ebs.csi.aws.com (the CSI driver that replaces the
# in-tree kubernetes.io/aws-ebs), behind csi-faultproxy (helpers in
# test-csi.sh) so the requests it got can be checked. The cluster's
# kube-controller-manager hands claims of aws-ebs classes to the driver, as
# it does for every migrated plugin.

MIG_DRIVER=ebs.csi.aws.com
MIG_IN_TREE=kubernetes.io/aws-ebs

# mig_start [DAEMON-FLAGS...] - the private driver as $MIG_DRIVER, the proxy
# in front of it, our daemon with its metrics at $MIG_METRICS.
mig_start() {
  start_private_driver --drivername="$MIG_DRIVER"
  CSI_ENDPOINT=$PRIVATE_ENDPOINT fp_start
  local port
  port=$(free_port)
  MIG_METRICS=http://127.0.0.1:$port/metrics
  start_daemon main --csi-address="$FP_ENDPOINT" --http-endpoint="127.0.0.1:$port" \
    --retry-interval-start=1s --retry-interval-max=5s "$@"
  wait_log main 60 "supports migration from in-tree plugin $MIG_IN_TREE"
}

# mig_ops METHOD MIGRATED - the count of csi_sidecar_operations_seconds for OK calls.
mig_ops() {
  metric_value "$MIG_METRICS" "csi_sidecar_operations_seconds_count{driver_name=\"$MIG_DRIVER\",grpc_status_code=\"OK\",method_name=\"/csi.v1.Controller/$1\",migrated=\"$2\"}"
}

mig_cleanup() {
  stop_daemons
  fp_stop || true
}

mig_driver_has() {
  jq -e --arg id "$1" '.volumes[$id] != null' "$TEST_DIR/drv/state/state.json" >/dev/null
}
mig_driver_lacks() { ! mig_driver_has "$1"; }

mig_driver_lacks_name() {
  jq -e --arg n "$1" '[.volumes // {} | .[] | select(.name == $n)] | length == 0' \
    "$TEST_DIR/drv/state/state.json" >/dev/null
}

mig_pv_migrated() {
  [[ $(jp "pv/$1" '{.metadata.annotations.pv\.kubernetes\.io/migrated-to}') == "$MIG_DRIVER" ]]
}

# A claim of an in-tree aws-ebs class with in-tree parameters: the driver
# gets the translated request, the PV is saved in the in-tree form upstream
# saves, and deleting the claim deletes the volume through the driver.
test_migration_provisions_in_tree_class() {
  trap mig_cleanup EXIT
  new_namespace mig1
  CSI_DRIVER_NAME=$MIG_IN_TREE make_class mig1-ebs Delete 'parameters:
  type: io1
  fsType: xfs
  iopsPerGB: "10"'
  # no topology: the test driver's node key is no AWS zone, whose region the
  # in-tree form would need (upstream fails such a PV just so, see below)
  mig_start --feature-gates=Topology=false
  make_claim mig1 data mig1-ebs 2Mi
  wait_bound mig1 data 90
  local uid pv handle
  uid=$(k get -n mig1 pvc/data -o jsonpath='{.metadata.uid}')
  pv=pvc-$uid
  [[ $(pv_of mig1 data) == "$pv" ]] || fail "claim bound to $(pv_of mig1 data), want $pv"
  # the controller manager handed the claim of the in-tree class to the driver
  [[ $(k get -n mig1 pvc/data -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/storage-provisioner}') == "$MIG_DRIVER" ]] ||
    fail "the claim is not annotated storage-provisioner $MIG_DRIVER"
  fp_jq --arg pv "$pv" '[.[] | select(.name == "CreateVolume" and .request.name == $pv)] |
      length >= 1 and all(.[]; .request.parameters == {"type": "io1", "iopsPerGB": "10",
      "allowautoiopspergbincrease": "true"} and
      .request.volume_capabilities[0].mount.fs_type == "xfs")'
  handle=$(jq -r -s --arg pv "$pv" '[.[] | select(.name == "CreateVolume" and .request.name == $pv
      and .code_name == "OK")][0].reply.volume.volume_id' "$TEST_DIR/fp.jsonl")
  [[ -n $handle && $handle != null ]] || fail "no successful CreateVolume of $pv recorded"
  mig_driver_has "$handle" || fail "the driver has no volume $handle"
  # upstream's in-tree form: the EBS source, no CSI source, provisioned-by the in-tree name
  k get "pv/$pv" -o json >"$TEST_DIR/pv.json"
  jq -e --arg h "$handle" --arg by "$MIG_IN_TREE" '.spec.awsElasticBlockStore ==
      {"volumeID": $h, "fsType": "xfs"} and .spec.csi == null and
      .metadata.annotations["pv.kubernetes.io/provisioned-by"] == $by and
      .spec.claimRef.uid != null and .spec.persistentVolumeReclaimPolicy == "Delete" and
      .spec.storageClassName == "mig1-ebs"' "$TEST_DIR/pv.json" >/dev/null ||
    fail "PV not in the in-tree form: $(jq -c '{metadata: .metadata.annotations, spec}' "$TEST_DIR/pv.json")"
  # ... and takes the PV for a migrated one of the in-tree plugin
  wait_until 30 "the controller manager to mark $pv migrated-to $MIG_DRIVER" mig_pv_migrated "$pv"
  k delete -n mig1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=90s
  fp_jq --arg id "$handle" '[.[] | select(.name == "DeleteVolume" and .request.volume_id == $id
      and .code_name == "OK")] | length >= 1'
  wait_until 30 "the driver to drop volume $handle" mig_driver_lacks "$handle"
  # upstream's label: the calls on the migrated volume say migrated="true"
  [[ $(mig_ops CreateVolume true) -ge 1 ]] || fail "CreateVolume not counted as migrated"
  [[ $(mig_ops DeleteVolume true) -ge 1 ]] || fail "DeleteVolume not counted as migrated"
  ! mig_ops CreateVolume false >/dev/null || fail "a CreateVolume counted as not migrated"
  k delete storageclass mig1-ebs >/dev/null
  finish_namespace mig1
}

# An in-tree EBS PV that existed before migration, annotated as the
# controller manager annotates it: Released, its volume is deleted through
# the driver (before, it only got our finalizer and stuck).
test_migration_deletes_released_in_tree_pv() {
  trap mig_cleanup EXIT
  new_namespace mig2
  mig_start
  local out handle pv=mig2-old-pv
  out=$("$CSI_CALL" "$PRIVATE_ENDPOINT" create mig2-old-volume 1048576)
  handle=$(sed -n 's/^volume_id=\([^ ]*\).*/\1/p' <<<"$out")
  [[ -n $handle ]] || fail "csi-call create said: $out"
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $pv
  annotations:
    pv.kubernetes.io/provisioned-by: $MIG_IN_TREE
    pv.kubernetes.io/migrated-to: $MIG_DRIVER
spec:
  capacity:
    storage: 1Mi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: ""
  awsElasticBlockStore:
    volumeID: $handle
    fsType: ext4
  claimRef:
    namespace: mig2
    name: old
YAML
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: old
  namespace: mig2
spec:
  storageClassName: ""
  volumeName: $pv
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  wait_bound mig2 old 90
  wait_until 30 "our finalizer on the Bound PV" pv_has_finalizer "$pv"
  k delete -n mig2 pvc/old --wait=false
  k wait "pv/$pv" --for=delete --timeout=90s
  fp_jq --arg id "$handle" '[.[] | select(.name == "DeleteVolume" and .request.volume_id == $id
      and .code_name == "OK")] | length == 1'
  wait_until 30 "the driver to drop volume $handle" mig_driver_lacks "$handle"
  finish_namespace mig2
}

# A provisioned volume whose PV cannot take the in-tree form (the test
# driver's node topology has no AWS zone, so no region) is deleted again and
# the claim gets a Warning, as upstream: no volume is left without a PV. On
# the way, allowedTopologies with the Kubernetes zone key reach the driver
# with its own.
test_migration_untranslatable_pv_deletes_volume() {
  trap mig_cleanup EXIT
  new_namespace mig3
  CSI_DRIVER_NAME=$MIG_IN_TREE make_class mig3-ebs Delete "allowedTopologies:
- matchLabelExpressions:
  - key: topology.kubernetes.io/zone
    values: [us-east-1a]
  - key: topology.hostpath.csi/node
    values: [$CSI_NODE_ID]"
  mig_start
  make_claim mig3 data mig3-ebs
  local uid pv
  uid=$(k get -n mig3 pvc/data -o jsonpath='{.metadata.uid}')
  pv=pvc-$uid
  wait_until 60 "a ProvisioningFailed event about the in-tree form" \
    event_says mig3 data ProvisioningFailed 'in-tree kubernetes.io/aws-ebs form'
  # the class's Kubernetes zone key reached the driver as the driver's own
  fp_jq --arg pv "$pv" --arg node "$CSI_NODE_ID" '[.[] | select(.name == "CreateVolume" and
      .request.name == $pv and .code_name == "OK")] | length >= 1 and
      all(.[]; .request.accessibility_requirements.requisite == [{"segments":
      {"topology.ebs.csi.aws.com/zone": "us-east-1a", "topology.hostpath.csi/node": $node}}])'
  k delete -n mig3 pvc/data --wait=false
  k wait -n mig3 pvc/data --for=delete --timeout=60s
  # every volume created for it was deleted again (the last one may go after the claim)
  wait_until 30 "the driver to have no volume $pv" mig_driver_lacks_name "$pv"
  fp_jq --arg pv "$pv" '([.[] | select(.name == "CreateVolume" and .request.name == $pv and
      .code_name == "OK") | .reply.volume.volume_id] | unique) as $ids |
      [.[] | select(.name == "DeleteVolume" and .code_name == "OK" and
      (.request.volume_id as $v | $ids | index($v)))] | length >= 1'
  ! k get "pv/$pv" >/dev/null 2>&1 || fail "a PV $pv was saved"
  k delete storageclass mig3-ebs >/dev/null
  finish_namespace mig3
}
