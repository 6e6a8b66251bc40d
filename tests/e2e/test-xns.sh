# tests/e2e/test-xns.sh - cross-namespace data sources (the
# CrossNamespaceVolumeDataSource gate, on in the test cluster's API server):
# a claim whose dataSourceRef names a claim or a VolumeSnapshot in another
# namespace is provisioned only once a ReferenceGrant in the source's
# namespace allows it, refused with a Warning event until then; without our
# gate such a claim is refused as upstream refuses it.

# xns_claim NAMESPACE NAME CLASS GROUP KIND SOURCE-NAMESPACE SOURCE-NAME
xns_claim() {
  claim_from "$1" "$2" "$3" 1Mi dataSourceRef "$4" "$5" "$7" "$6"
}

# xns_grant NAMESPACE NAME FROM-NAMESPACE TO-GROUP TO-KIND [TO-NAME]
xns_grant() {
  k apply -f - <<YAML
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: $2
  namespace: $1
spec:
  from:
    - group: ""
      kind: PersistentVolumeClaim
      namespace: $3
  to:
    - group: "$4"
      kind: $5
${6:+      name: $6}
YAML
}

# xns_pending NAMESPACE NAME - Pending, no volume.
xns_pending() {
  [[ $(k get -n "$1" "pvc/$2" -o jsonpath='{.status.phase}') == Pending ]] || fail "$1/$2 is not Pending"
  [[ -z $(pv_of "$1" "$2") ]] || fail "$1/$2 got a volume"
}

driver_source_of() { jq -r --arg id "$1" ".volumes[\$id].$2 // empty" "$CLUSTER_DIR/hostpath-state/state.json"; }

# A clone across namespaces: refused until a grant for that claim (by name)
# exists; a grant for another name or kind, or from another namespace, does
# not count. Then the clone gets the source's volume as its content source.
test_xns_clone_needs_grant() {
  local src_pv src_vol pv vol
  new_namespace xns-src
  new_namespace xns-dst
  make_class xns-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s \
    --retry-interval-max=2s --feature-gates=CrossNamespaceVolumeDataSource=true
  make_claim xns-src data xns-class 1Mi
  wait_bound xns-src data
  src_pv=$(pv_of xns-src data)
  src_vol=$(jp "pv/$src_pv" '{.spec.csi.volumeHandle}')
  # grants that do not fit: another name, another kind, from another namespace
  xns_grant xns-src other-name xns-dst "" PersistentVolumeClaim nope
  xns_grant xns-src other-kind xns-dst snapshot.storage.k8s.io VolumeSnapshot
  xns_grant xns-src other-from xns-src "" PersistentVolumeClaim data
  xns_claim xns-dst copy xns-class "" PersistentVolumeClaim xns-src data
  [[ $(k get -n xns-dst pvc/copy -o jsonpath='{.spec.dataSourceRef.namespace}') == xns-src ]] ||
    fail "the API server dropped dataSourceRef.namespace (is its gate on?)"
  wait_until 30 "a ProvisioningFailed event saying the reference is not allowed" \
    event_says xns-dst copy ProvisioningFailed \
    "accessing xns-src/data of PersistentVolumeClaim dataSource from xns-dst/copy isn't allowed"
  xns_pending xns-dst copy
  ! has_clone_finalizer xns-src data || fail "the source was protected though nothing was allowed"
  # the grant that fits
  xns_grant xns-src clone-data xns-dst "" PersistentVolumeClaim data
  wait_bound xns-dst copy
  pv=$(pv_of xns-dst copy)
  vol=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  [[ $(driver_source_of "$vol" sourceVolume) == "$src_vol" ]] ||
    fail "the driver did not clone $vol from $src_vol: $(jq -c --arg id "$vol" '.volumes[$id]' "$CLUSTER_DIR/hostpath-state/state.json")"
  # the cloning finalizer on the source (another namespace) goes once the clone is done
  k delete -n xns-src pvc/data --wait=false
  k wait -n xns-src pvc/data --for=delete --timeout=60s
  finish_namespace xns-dst
  finish_namespace xns-src
  k delete storageclass xns-class >/dev/null
  stop_daemon main
}

# A restore from a VolumeSnapshot in another namespace, allowed by a grant
# for every VolumeSnapshot there (no name).
test_xns_snapshot_with_grant() {
  local vol snap_id pv new_vol
  new_namespace xns-ssrc
  new_namespace xns-sdst
  make_class xns-sclass Delete
  # the helpers of test-snapshot.sh: a volume and a snapshot cut by the driver,
  # a pre-provisioned content and its VolumeSnapshot, ready
  vol=$(snap_volume xns-snap-src 1048576)
  snap_id=$(snap_cut "$vol" xns-snap)
  snap_objects xns-ssrc snap xns-content "$CSI_DRIVER_NAME" "$snap_id"
  snap_status xns-ssrc snap xns-content "$snap_id" true 1048576
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s \
    --retry-interval-max=2s --feature-gates=CrossNamespaceVolumeDataSource=true
  xns_claim xns-sdst restored xns-sclass snapshot.storage.k8s.io VolumeSnapshot xns-ssrc snap
  wait_until 30 "a ProvisioningFailed event saying the reference is not allowed" \
    event_says xns-sdst restored ProvisioningFailed "accessing xns-ssrc/snap of VolumeSnapshot dataSource"
  xns_pending xns-sdst restored
  xns_grant xns-ssrc snaps xns-sdst snapshot.storage.k8s.io VolumeSnapshot
  wait_bound xns-sdst restored
  pv=$(pv_of xns-sdst restored)
  new_vol=$(jp "pv/$pv" '{.spec.csi.volumeHandle}')
  [[ $(driver_source_of "$new_vol" sourceSnapshot) == "$snap_id" ]] ||
    fail "the driver did not restore $new_vol from $snap_id"
  wait_until 30 "our finalizer to leave the snapshot in the other namespace" \
    snap_unprotected xns-ssrc snap
  snap_cleanup xns-ssrc snap xns-content "$snap_id" "$vol"
  finish_namespace xns-sdst
  finish_namespace xns-ssrc
  k delete storageclass xns-sclass >/dev/null
  stop_daemon main
}

# Without our gate, a dataSourceRef with a namespace is refused as upstream
# refuses it, even with a grant in place, and the source is not touched.
test_xns_gate_off_refuses() {
  new_namespace xns-osrc
  new_namespace xns-odst
  make_class xns-oclass Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s --retry-interval-max=2s
  make_claim xns-osrc data xns-oclass 1Mi
  wait_bound xns-osrc data
  xns_grant xns-osrc all xns-odst "" PersistentVolumeClaim
  xns_claim xns-odst copy xns-oclass "" PersistentVolumeClaim xns-osrc data
  wait_until 30 "a ProvisioningFailed event naming the gate" event_says xns-odst copy ProvisioningFailed \
    "dataSourceRef namespace specified but the CrossNamespaceVolumeDataSource feature is disabled"
  xns_pending xns-odst copy
  ! has_clone_finalizer xns-osrc data || fail "the source was protected with the gate off"
  finish_namespace xns-odst
  finish_namespace xns-osrc
  k delete storageclass xns-oclass >/dev/null
  stop_daemon main
}

# A kubeconfig whose user is an exec credential plugin (a script that prints
# the test identity's token; its first answer is a wrong token, so the 401
# makes the daemon run it again): the daemon starts, provisions a claim,
# hands the plugin its args, env and KUBERNETES_EXEC_INFO, and never logs
# the token.
test_xns_exec_credential_plugin() {
  local good
  good=$(sed -n 's/^ *token: *//p' "$PROVISIONER_KUBECONFIG")
  [[ -n $good ]] || fail "no token in $PROVISIONER_KUBECONFIG"
  cat >"$TEST_DIR/get-token" <<SH
#!/bin/sh
# a fake credential plugin: counts its runs, answers a wrong token first
d=\$(dirname "\$0")
n=\$(( \$(cat "\$d/runs" 2>/dev/null || echo 0) + 1 ))
echo \$n >"\$d/runs"
printf '%s\n' "\$*" >"\$d/args"
printf '%s\n' "\$PLUGIN_REGION" "\$KUBERNETES_EXEC_INFO" >"\$d/env"
tok=$good
[ \$n -eq 1 ] && tok=wrong-token-from-run-1
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' \
  "\$tok" "\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
SH
  chmod 700 "$TEST_DIR/get-token"
  # the token line becomes an exec block (same indentation as the user's fields)
  awk -v cmd="$TEST_DIR/get-token" '
    /^ *token: / {
      ind = substr($0, 1, index($0, "t") - 1)
      print ind "exec:"
      print ind "  apiVersion: client.authentication.k8s.io/v1"
      print ind "  command: " cmd
      print ind "  args: [--cluster, test]"
      print ind "  env: [{name: PLUGIN_REGION, value: eu-1}]"
      print ind "  provideClusterInfo: true"
      print ind "  interactiveMode: Never"
      next
    }
    { print }' "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/exec.kubeconfig"
  ! grep -q "$good" "$TEST_DIR/exec.kubeconfig" || fail "the token is still in the kubeconfig"
  new_namespace xns-exec
  make_class xns-eclass Delete
  # start_daemon passes PROVISIONER_KUBECONFIG: point it at ours
  PROVISIONER_KUBECONFIG=$TEST_DIR/exec.kubeconfig start_daemon main --csi-address="$CSI_ENDPOINT" --v=5 \
    --leader-election --leader-election-namespace="$(journal_ns)"
  make_claim xns-exec data xns-eclass 1Mi
  wait_bound xns-exec data 90
  # one run for all the daemon's clients (they share the cached credential),
  # one more after the 401 to the wrong token; the good one lasts an hour
  [[ $(cat "$TEST_DIR/runs") -eq 2 ]] || fail "the plugin ran $(cat "$TEST_DIR/runs") time(s), want 2"
  [[ $(cat "$TEST_DIR/args") == "--cluster test" ]] || fail "args: $(cat "$TEST_DIR/args")"
  [[ $(head -1 "$TEST_DIR/env") == eu-1 ]] || fail "env: $(cat "$TEST_DIR/env")"
  sed -n 2p "$TEST_DIR/env" | jq -e --arg s "$KUBE_APISERVER" \
    '.kind == "ExecCredential" and .apiVersion == "client.authentication.k8s.io/v1" and
     .spec.interactive == false and .spec.cluster.server == $s and
     (.spec.cluster["certificate-authority-data"] | length > 0)' >/dev/null ||
    fail "KUBERNETES_EXEC_INFO: $(sed -n 2p "$TEST_DIR/env")"
  wait_log main 10 "running exec credential plugin .*: the API server refused the credential"
  ! grep -q -- "$good" "$TEST_DIR/daemon-main.log" || fail "the daemon logged the token"
  ! grep -q -- "wrong-token-from-run-1" "$TEST_DIR/daemon-main.log" || fail "the daemon logged a token"
  finish_namespace xns-exec
  k delete storageclass xns-eclass >/dev/null
  stop_daemon main
}

# A claim in another namespace that no grant allows never pins a source: the
# source's owner deletes it while our cloning finalizer is on it (as while a
# clone of its own namespace is pending), and the ungranted claim elsewhere
# does not keep it from going.
test_xns_ungranted_claim_never_pins_a_source() {
  new_namespace xns-victim
  new_namespace xns-tenant
  make_class xns-pin Delete
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=4 --retry-interval-start=1s \
    --retry-interval-max=2s --feature-gates=CrossNamespaceVolumeDataSource=true
  make_claim xns-victim data xns-pin 1Mi
  wait_bound xns-victim data
  xns_claim xns-tenant pin xns-pin "" PersistentVolumeClaim xns-victim data
  wait_until 30 "the tenant's claim to be refused" \
    event_says xns-tenant pin ProvisioningFailed "isn't allowed"
  k patch -n xns-victim pvc/data --type=json \
    -p '[{"op":"add","path":"/metadata/finalizers/-","value":"provisioner.storage.kubernetes.io/cloning-protection"}]' >/dev/null
  k delete -n xns-victim pvc/data --wait=false
  k wait -n xns-victim pvc/data --for=delete --timeout=60s ||
    fail "the victim's claim stayed: $(k get -n xns-victim pvc/data -o jsonpath='{.metadata.finalizers}')"
  finish_namespace xns-tenant
  finish_namespace xns-victim
  k delete storageclass xns-pin >/dev/null
  stop_daemon main
}
