# tests/e2e/test-journal-lease.sh - the intent journal in Leases, as a
# drop-in for upstream: the daemon whose identity has exactly the RBAC of
# upstream's deploy/kubernetes/rbac.yaml (read from the pinned module that
# tests/peers uses, at test time) provisions with the journal on; and the
# upgrade from a version that kept the journal in ConfigMaps: a planted
# ConfigMap shard's intent (its volume on the driver, its claim gone) is
# adopted into a Lease, the ConfigMap deleted, and the orphan volume
# deleted as the journal's intents are.

# upstream_rbac FILE - upstream's rbac.yaml of the pinned external-provisioner.
upstream_rbac() {
  local v dir
  v=$(awk '$1 == "require" && $2 ~ /external-provisioner/ { print $3 }' \
    "$ROOT/tests/peers/external-provisioner/go.mod")
  [[ -n $v ]] || fail "no pinned external-provisioner in tests/peers/external-provisioner/go.mod"
  dir=$(cd "$ROOT/tests/peers/external-provisioner" && go mod download -json \
    "github.com/kubernetes-csi/external-provisioner/v6@$v" | jq -r .Dir) ||
    fail "external-provisioner $v is not in the Go module cache"
  [[ -f $dir/deploy/kubernetes/rbac.yaml ]] || fail "no deploy/kubernetes/rbac.yaml in $dir"
  cp "$dir/deploy/kubernetes/rbac.yaml" "$1"
}

test_journal_upstream_rbac_as_shipped_claim_bound() {
  local ns jns tok
  ns=jl-upstream
  jns=$(journal_ns)
  upstream_rbac "$TEST_DIR/upstream-rbac.yaml"
  # as upstream's file asks: its namespace "default" replaced by the provisioner's
  sed "s/namespace: default\$/namespace: $jns/" "$TEST_DIR/upstream-rbac.yaml" >"$TEST_DIR/rbac.yaml"
  grep -q "namespace: $jns" "$TEST_DIR/rbac.yaml" || fail "upstream's rbac.yaml names no namespace"
  k create namespace "$jns" >/dev/null
  k apply -f "$TEST_DIR/rbac.yaml" >/dev/null
  # the identity has no ConfigMaps at all, and the Role's Leases
  tok=$(k create token csi-provisioner -n "$jns")
  sed "s|token: .*|token: $tok|" "$PROVISIONER_KUBECONFIG" >"$TEST_DIR/upstream.kubeconfig"
  [[ $("$KUBECTL" --kubeconfig "$TEST_DIR/upstream.kubeconfig" auth can-i list configmaps -n "$jns") == no ]] ||
    fail "upstream's RBAC grants configmaps"
  [[ $("$KUBECTL" --kubeconfig "$TEST_DIR/upstream.kubeconfig" auth can-i update leases.coordination.k8s.io -n "$jns") == yes ]] ||
    fail "upstream's RBAC does not grant leases"
  new_namespace $ns
  make_class jl-upstream-class Delete
  PROVISIONER_KUBECONFIG=$TEST_DIR/upstream.kubeconfig start_daemon up --v=2
  wait_log up 60 "intent journal: 0 intents"
  make_claim $ns data jl-upstream-class
  wait_bound $ns data 90 || fail "the claim is not Bound with upstream's RBAC"
  # the journal ran: its shard Lease exists and names the daemon as holder
  [[ -n $(k get leases -n "$jns" -l csi-provisioner.dev/journal -o name) ]] ||
    fail "no journal Lease in $jns"
  [[ $(grep -c "not looking for ConfigMap shards of an older version" "$TEST_DIR/daemon-up.log") == 1 ]] ||
    fail "want one line on the ConfigMaps it may not list"
  wait_until 30 "the journal to empty" journal_empty
  finish_namespace $ns
  stop_daemon up
  k delete storageclass jl-upstream-class >/dev/null
  k delete -f "$TEST_DIR/rbac.yaml" --ignore-not-found >/dev/null
}

# The journal's Lease shards of this test, as JSON.
journal_leases() { k get leases -n "$(journal_ns)" -l csi-provisioner.dev/journal -o json; }
journal_configmaps() { k get configmaps -n "$(journal_ns)" -l csi-provisioner.dev/journal -o name; }

test_journal_configmap_shards_are_adopted() {
  trap csi_cleanup EXIT
  local ns=jl-adopt jns name value shard label
  jns=$(journal_ns)
  new_namespace $ns
  make_class jl-adopt-class Delete
  fp_start
  # the driver creates the volume, the daemon hears DeadlineExceeded: an intent, no PV
  fp_rules 'CreateVolume timeout'
  start_daemon first --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  make_claim $ns data jl-adopt-class
  name=pvc-$(k get -n $ns pvc/data -o jsonpath='{.metadata.uid}')
  wait_until 30 "the driver to create $name" driver_has_name "$name"
  journal_has "$name" || fail "no intent for $name"
  kill -9 "$(cat "$TEST_DIR/daemon-first.pid")"
  rm -f "$TEST_DIR/daemon-first.pid"
  # what an older version left: the same record in a ConfigMap shard, no Lease
  shard=$(journal_leases | jq -r '.items[0].metadata.name')
  label=$(journal_leases | jq -r '.items[0].metadata.labels["csi-provisioner.dev/journal"]')
  value=$(journal_leases | jq -r --arg k "intent.csi-provisioner.dev/$name" \
    '.items[] | .metadata.annotations[$k] // empty')
  [[ -n $value && $shard == *-0 ]] || fail "no record of $name in shard 0 ($shard)"
  k delete leases -n "$jns" -l csi-provisioner.dev/journal >/dev/null
  k create configmap -n "$jns" "$shard" --from-literal="$name=$value" >/dev/null
  k label configmap -n "$jns" "$shard" "csi-provisioner.dev/journal=$label" >/dev/null
  k annotate configmap -n "$jns" "$shard" csi-provisioner.dev/journal-holder=old >/dev/null
  journal_lacks "$name" || fail "the Lease still holds $name"
  # the claim goes away; the volume is an orphan only the adopted intent knows
  k delete namespace $ns --wait=false >/dev/null
  k wait "namespace/$ns" --for=delete --timeout=90s >/dev/null
  fp_rules 'DeleteVolume hold'
  start_daemon second --csi-address="$FP_ENDPOINT" --retry-interval-start=500ms \
    --retry-interval-max=2s --v=2
  wait_log second 60 "adopted 1 records of the ConfigMap shards"
  journal_has "$name" || fail "the intent of $name is not in a Lease"
  [[ -z $(journal_configmaps) ]] || fail "the adopted ConfigMap shard is still there"
  wait_until 30 "DeleteVolume of the orphan" fp_count_at_least DeleteVolume held 1
  fp_rules ''
  wait_until 60 "the driver to hold no volume $name" driver_lacks_name "$name"
  wait_until 30 "the journal to empty" journal_empty
  stop_daemon second
  fp_stop
  k delete storageclass jl-adopt-class >/dev/null
}
