# tests/e2e/test-provision.sh - provisioning rules end to end: secrets and
# templates, and bad classes that must leave a claim Pending with a Warning
# event that names the problem.

# Secrets named by the class (with templates) are fetched for CreateVolume
# and DeleteVolume, and the PV carries the references the node side needs.
test_secrets_and_templates() {
  new_namespace sec1
  k create secret generic -n sec1 prov-data --from-literal=password=not-logged >/dev/null
  make_class sec1-class Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: prov-${pvc.name}
  csi.storage.k8s.io/provisioner-secret-namespace: ${pvc.namespace}
  csi.storage.k8s.io/node-stage-secret-name: stage-${pvc.annotations['"'"'team'"'"']}
  csi.storage.k8s.io/node-stage-secret-namespace: kube-system
  csiNodePublishSecretName: pub
  csiNodePublishSecretNamespace: ${pvc.namespace}'
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: sec1
  annotations:
    team: blue
spec:
  storageClassName: sec1-class
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=5
  wait_bound sec1 data
  local pv
  pv=$(pv_of sec1 data)
  [[ $(jp pv/$pv '{.metadata.annotations.volume\.kubernetes\.io/provisioner-deletion-secret-namespace}/{.metadata.annotations.volume\.kubernetes\.io/provisioner-deletion-secret-name}') == sec1/prov-data ]] ||
    fail "deletion secret annotations"
  [[ $(jp pv/$pv '{.spec.csi.nodeStageSecretRef.namespace}/{.spec.csi.nodeStageSecretRef.name}') == kube-system/stage-blue ]] ||
    fail "nodeStageSecretRef"
  [[ $(jp pv/$pv '{.spec.csi.nodePublishSecretRef.namespace}/{.spec.csi.nodePublishSecretRef.name}') == sec1/pub ]] ||
    fail "nodePublishSecretRef from the deprecated keys"
  [[ -z $(jp pv/$pv '{.spec.csi.controllerPublishSecretRef}') ]] || fail "unexpected controllerPublishSecretRef"
  ! grep -q not-logged "$TEST_DIR/daemon-main.log" || fail "a secret value reached the log"
  k delete -n sec1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  finish_namespace sec1
  stop_daemon main
}

# Each bad class gets a Warning event naming what to fix; the claim stays
# Pending without our mark (nothing was sent to the driver), and the daemon
# serves a good claim meanwhile.
test_bad_classes_get_events() {
  new_namespace bad1
  make_class bad1-missing-secret Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: nowhere
  csi.storage.k8s.io/provisioner-secret-namespace: bad1'
  make_class bad1-template Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: ${foo}
  csi.storage.k8s.io/provisioner-secret-namespace: bad1'
  make_class bad1-fstypes Delete 'parameters:
  csi.storage.k8s.io/fstype: ext4
  fstype: xfs'
  make_class bad1-half-secret Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: only-name'
  make_class bad1-good Delete
  make_claim bad1 missing bad1-missing-secret
  make_claim bad1 template bad1-template
  make_claim bad1 fstypes bad1-fstypes
  make_claim bad1 half bad1-half-secret
  make_claim bad1 good bad1-good
  start_daemon main --csi-address="$CSI_ENDPOINT" --retry-interval-start=1s --retry-interval-max=2s
  wait_bound bad1 good
  wait_until 30 "missing secret event" event_says bad1 missing ProvisioningFailed 'cannot get secret "bad1/nowhere"'
  wait_until 30 "bad template event" event_says bad1 template ProvisioningFailed 'invalid tokens: \["foo"\]'
  wait_until 30 "two fstypes event" event_says bad1 fstypes ProvisioningFailed 'sets both'
  wait_until 30 "half secret event" event_says bad1 half ProvisioningFailed 'needs both'
  local c
  for c in missing template fstypes half; do
    [[ $(k get -n bad1 pvc/$c -o jsonpath='{.status.phase}') == Pending ]] || fail "$c is not Pending"
    claim_unmarked bad1 $c || fail "$c carries our mark though nothing was sent to the driver"
  done
  # A claim without our mark goes away at once when deleted.
  k delete -n bad1 pvc/missing --timeout=30s
  # The secret appears: the next retry fetches it and provisions.
  k create secret generic -n bad1 nowhere --from-literal=k=v >/dev/null
  make_claim bad1 late bad1-missing-secret
  wait_bound bad1 late
  finish_namespace bad1
  stop_daemon main
}

# A driver that attaches volumes: a Released PV whose VolumeAttachment still
# exists is not deleted until the attachment is gone.
test_attached_volume_waits_for_detach() {
  new_namespace att1
  make_class att1-class Delete
  start_private_driver --enable-attach
  start_daemon main --csi-address="$PRIVATE_ENDPOINT" --v=4 \
    --retry-interval-start=1s --retry-interval-max=2s
  make_claim att1 data att1-class
  wait_bound att1 data
  local pv
  pv=$(pv_of att1 data)
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata:
  name: att1-va
spec:
  attacher: $CSI_DRIVER_NAME
  nodeName: $CSI_NODE_ID
  source:
    persistentVolumeName: $pv
YAML
  k delete -n att1 pvc/data --wait=false
  k wait "pv/$pv" --for=jsonpath='{.status.phase}'=Released --timeout=60s
  wait_log main 30 "persistentvolume $pv is still attached to node $CSI_NODE_ID"
  k get "pv/$pv" >/dev/null || fail "the PV was deleted while attached"
  k delete volumeattachment/att1-va
  k wait "pv/$pv" --for=delete --timeout=60s
  finish_namespace att1
  stop_daemon main
  stop_daemon driver
}

# make_clone NAMESPACE NAME CLASS SOURCE SIZE
make_clone() {
  claim_from "$1" "$2" "$3" "$5" dataSource none PersistentVolumeClaim "$4"
}

has_clone_finalizer() {
  grep -q 'provisioner.storage.kubernetes.io/cloning-protection' <<<"$(k get -n "$1" "pvc/$2" -o jsonpath='{.metadata.finalizers}')"
}

# A clone gets the source's volume as its content source; the source is
# protected while a clone of it is pending, and released afterwards.
test_clone_from_claim() {
  new_namespace cl1
  make_class cl1-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  make_claim cl1 src cl1-class 2Mi
  wait_bound cl1 src
  make_clone cl1 copy cl1-class src 2Mi
  wait_bound cl1 copy
  has_clone_finalizer cl1 src || fail "the source claim lacks the cloning finalizer"
  # too small a clone: an event that says why; the pending clone keeps the source
  make_clone cl1 small cl1-class src 1Mi
  wait_until 30 "an event about the size" event_says cl1 small ProvisioningFailed 'less than its source'
  k delete -n cl1 pvc/src --wait=false
  wait_log main 30 "claim cl1/src: still the source of a pending clone"
  k get -n cl1 pvc/src >/dev/null || fail "the source went away under a pending clone"
  k delete -n cl1 pvc/small
  k wait -n cl1 pvc/src --for=delete --timeout=60s
  # a source of another kind is a populator's business, not ours
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: populated
  namespace: cl1
spec:
  storageClassName: cl1-class
  accessModes: [ReadWriteOnce]
  dataSourceRef:
    apiGroup: example.com
    kind: Sample
    name: s1
  resources:
    requests:
      storage: 1Mi
YAML
  wait_until 30 "the populator event" event_says cl1 populated Provisioning 'external populator'
  [[ -z $(pv_of cl1 populated) ]] || fail "we provisioned a claim meant for a populator"
  finish_namespace cl1
  stop_daemon main
}

# A claim's VolumeAttributesClass: its parameters go to CreateVolume as
# mutable parameters and the PV names the class; a driver that cannot modify
# volumes, or a class for another driver, is an event that says so.
test_volume_attributes_class() {
  new_namespace vac1
  make_class vac1-class Delete
  k apply -f - <<YAML
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata:
  name: vac1-gold
driverName: $CSI_DRIVER_NAME
parameters:
  iops: "500"
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttributesClass
metadata:
  name: vac1-other
driverName: other.example.com
parameters:
  iops: "1"
YAML
  vac_claim() {
    k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $1
  namespace: vac1
spec:
  storageClassName: vac1-class
  volumeAttributesClassName: $2
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  }
  # the shared driver has no MODIFY_VOLUME
  start_daemon plain --csi-address="$CSI_ENDPOINT"
  vac_claim refused vac1-gold
  wait_until 30 "the MODIFY_VOLUME event" event_says vac1 refused ProvisioningFailed 'no MODIFY_VOLUME capability'
  stop_daemon plain
  k delete -n vac1 pvc/refused

  start_private_driver --enable-modify
  start_daemon main --csi-address="$PRIVATE_ENDPOINT"
  vac_claim gold vac1-gold
  wait_bound vac1 gold
  [[ $(jp "pv/$(pv_of vac1 gold)" '{.spec.volumeAttributesClassName}') == vac1-gold ]] ||
    fail "the PV does not name the VolumeAttributesClass"
  vac_claim wrong vac1-other
  wait_until 30 "the wrong-driver event" event_says vac1 wrong ProvisioningFailed 'is for driver other.example.com'
  finish_namespace vac1
  k delete volumeattributesclass/vac1-gold volumeattributesclass/vac1-other --wait=false
  stop_daemon main
  stop_daemon driver
}
