# tests/e2e/test-apf.sh - without --kube-api-qps the daemon follows the API
# server's priority and fairness: it provisions far faster than a fixed 5
# QPS, and when its priority level is tiny it absorbs the server's 429s.

# apf_tight_level - put the provisioner's identity in a priority level of
# its own with a share of 1 (about 3 seats of the server's 600) that
# rejects instead of queueing: every request beyond those seats is a 429.
apf_tight_level() {
  k apply -f - >/dev/null <<'YAML'
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: e2e-provisioner-tight
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse:
      type: Reject
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: e2e-provisioner-tight
spec:
  matchingPrecedence: 500
  priorityLevelConfiguration:
    name: e2e-provisioner-tight
  distinguisherMethod:
    type: ByUser
  rules:
  - subjects:
    - kind: User
      user:
        name: csi-provisioner
    resourceRules:
    - verbs: ["*"]
      apiGroups: ["*"]
      resources: ["*"]
      clusterScope: true
      namespaces: ["*"]
    nonResourceRules:
    - verbs: ["*"]
      nonResourceURLs: ["*"]
YAML
}

apf_tight_level_gone() {
  k delete flowschema e2e-provisioner-tight --ignore-not-found >/dev/null
  k delete prioritylevelconfiguration e2e-provisioner-tight --ignore-not-found >/dev/null
}

# The server's count of requests it rejected in that level.
apf_rejected() {
  k get --raw /metrics |
    awk '/^apiserver_flowcontrol_rejected_requests_total\{/ && /priority_level="e2e-provisioner-tight"/ { n += $NF } END { print n + 0 }'
}

# The APF configuration reaches the server's dispatcher asynchronously: wait
# until a request of the provisioner's identity is classified into the level.
apf_level_active() {
  local uid
  uid=$(k get prioritylevelconfiguration e2e-provisioner-tight -o jsonpath='{.metadata.uid}')
  [[ -n $uid ]] || return 1
  curl -sS -o /dev/null -D - --cacert "$KUBE_CA_FILE" \
    -H "Authorization: Bearer $(sed -n 's/^ *token: *//p' "$PROVISIONER_KUBECONFIG")" \
    "$KUBE_APISERVER/api/v1/namespaces/default/persistentvolumeclaims?limit=1" |
    grep -qi "^x-kubernetes-pf-prioritylevel-uid: $uid"
}

test_apf_overload_is_absorbed() {
  trap 'apf_tight_level_gone; stop_daemons' EXIT
  local ns=apf-tight port n=60 before i
  new_namespace $ns
  make_class apf-tight Delete >/dev/null
  apf_tight_level
  wait_until 60 "the tight priority level to classify the provisioner's requests" apf_level_active
  before=$(apf_rejected)
  port=$(free_port)
  start_daemon main --csi-address="$CSI_ENDPOINT" --http-endpoint="127.0.0.1:$port" --v=2
  wait_log main 60 "running"
  for i in $(seq 1 $n); do
    printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c%03d, namespace: %s}\nspec:\n  storageClassName: apf-tight\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}\n' "$i" "$ns"
  done | k apply -f - >/dev/null
  for i in $(seq 1 $n); do
    wait_bound $ns "$(printf c%03d "$i")" 180 >/dev/null
  done
  log_has main "following its flow control" || fail "the daemon did not notice priority and fairness"
  (( $(apf_rejected) > before )) || fail "the server rejected nothing: the test did not overload the level"
  echo "server rejections in the level: $(( $(apf_rejected) - before ))"
  # absorbed: no claim saw a failed attempt
  [[ -z $(k get events -n $ns --field-selector reason=ProvisioningFailed -o name) ]] ||
    fail "provisioning failed under 429s: $(k get events -n $ns --field-selector reason=ProvisioningFailed)"
  local limit
  limit=$(metric_value "http://127.0.0.1:$port/metrics" csi_provisioner_kube_api_inflight_limit)
  echo "in-flight bound after the run: $limit"
  awk -v l="$limit" 'BEGIN { exit !(l >= 1 && l < 8) }' || fail "in-flight bound $limit did not come down"
  k delete namespace $ns --wait=false >/dev/null
  k delete storageclass apf-tight >/dev/null
}

# Against the usual levels: no fixed 5 QPS. At 5 QPS with a burst of 10,
# fifty claims (a PV create, events, journal writes: over 100 requests in a
# burst) make the client wait a second or more for tokens, which it logs at
# --v=2; following the server's flow control it never does.
test_apf_default_pacing_is_not_5_qps() {
  local ns=apf-fast port n=50 i t0
  new_namespace $ns
  make_class apf-fast Delete >/dev/null
  port=$(free_port)
  start_daemon main --csi-address="$CSI_ENDPOINT" --http-endpoint="127.0.0.1:$port" --v=2
  wait_log main 60 "running"
  t0=$SECONDS
  for i in $(seq 1 $n); do
    printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c%03d, namespace: %s}\nspec:\n  storageClassName: apf-fast\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}\n' "$i" "$ns"
  done | k apply -f - >/dev/null
  for i in $(seq 1 $n); do
    wait_bound $ns "$(printf c%03d "$i")" 180 >/dev/null
  done
  echo "$n claims Bound in $((SECONDS - t0))s"
  log_has main "following its flow control" || fail "the daemon did not notice priority and fairness"
  ! log_has main "due to client-side throttling" || fail "the client throttled itself"
  local limit
  limit=$(metric_value "http://127.0.0.1:$port/metrics" csi_provisioner_kube_api_inflight_limit)
  awk -v l="$limit" 'BEGIN { exit !(l >= 1) }' || fail "no adaptive in-flight bound ($limit)"
  metric_value "http://127.0.0.1:$port/metrics" csi_provisioner_kube_api_request_rate >/dev/null ||
    fail "no request-rate metric"
  k delete namespace $ns --wait=false >/dev/null
  k delete storageclass apf-fast >/dev/null
}

# With --kube-api-qps the fixed bucket applies, as upstream: the same load
# waits for tokens.
test_apf_explicit_qps_keeps_the_bucket() {
  local ns=apf-fixed n=40 i
  new_namespace $ns
  make_class apf-fixed Delete >/dev/null
  start_daemon main --csi-address="$CSI_ENDPOINT" --kube-api-qps=5 --kube-api-burst=10 --v=2
  wait_log main 60 "running"
  for i in $(seq 1 $n); do
    printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c%03d, namespace: %s}\nspec:\n  storageClassName: apf-fixed\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}\n' "$i" "$ns"
  done | k apply -f - >/dev/null
  for i in $(seq 1 $n); do
    wait_bound $ns "$(printf c%03d "$i")" 180 >/dev/null
  done
  ! log_has main "following its flow control" || fail "adapted although --kube-api-qps was given"
  log_has main "due to client-side throttling" || fail "the fixed bucket never made the client wait"
  k delete namespace $ns --wait=false >/dev/null
  k delete storageclass apf-fixed >/dev/null
}
