# tests/e2e/test-metrics.sh - the HTTP endpoint: metrics and health checks.

test_metrics_and_health() {
  new_namespace met1
  make_class met1-class Delete
  local port url
  port=$(free_port)
  url=http://127.0.0.1:$port
  start_daemon main --csi-address="$CSI_ENDPOINT" --http-endpoint="127.0.0.1:$port" \
    --leader-election --leader-election-namespace=met1
  wait_until 30 "/readyz to answer 200" curl -fsS "$url/readyz"
  [[ $(curl -fsS "$url/healthz") == ok ]] || fail "/healthz"
  grep -q '^ok' <<<"$(curl -fsS "$url/healthz/leader-election")" || fail "/healthz/leader-election"
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/nope") == 404 ]] || fail "unknown path is not 404"

  make_claim met1 data met1-class
  wait_bound met1 data
  wait_until 10 "the provision counter" metric_value "$url/metrics" \
    'controller_persistentvolumeclaim_provision_total{class="met1-class",source=""}'
  [[ $(metric_value "$url/metrics" 'controller_persistentvolumeclaim_provision_total{class="met1-class",source=""}') == 1 ]] ||
    fail "provision_total is not 1"
  metric_value "$url/metrics" 'csi_sidecar_operations_seconds_count{driver_name="hostpath.csi.k8s.io",grpc_status_code="OK",method_name="/csi.v1.Controller/CreateVolume"}' >/dev/null ||
    fail "no CreateVolume operation metric"
  metric_value "$url/metrics" 'controller_persistentvolumeclaim_provision_duration_seconds_bucket{class="met1-class",source="",le="+Inf"}' >/dev/null ||
    fail "no provision duration histogram"
  # upstream's name label is LeaderElectionConfig.Name, which csi-lib-utils leaves empty
  [[ $(metric_value "$url/metrics" 'leader_election_master_status{name=""}') == 1 ]] ||
    fail "leader_election_master_status is not 1"
  # values are written as Go writes them ("2.3e+07"): compare as numbers
  awk -v v="$(metric_value "$url/metrics" process_resident_memory_bytes)" 'BEGIN { exit !(v + 0 > 1000000) }' ||
    fail "resident memory"
  metric_value "$url/metrics" 'workqueue_depth{name="claims"}' >/dev/null || fail "no queue depth"

  local pv
  pv=$(pv_of met1 data)
  k delete -n met1 pvc/data --wait=false
  k wait "pv/$pv" --for=delete --timeout=60s
  wait_until 10 "the delete counter" metric_value "$url/metrics" \
    'controller_persistentvolume_delete_total{class="met1-class"}'
  # the daemon first: its Lease lives in met1, and losing it exits 1
  stop_daemon main
  finish_namespace met1
}

# A bad --http-endpoint stops start-up with a message naming it.
test_bad_http_endpoint_is_refused() {
  local rc=0 out
  out=$(timeout 30 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" \
    --http-endpoint=127.0.0.1:notaport 2>&1) || rc=$?
  [[ $rc -ne 0 ]] || fail "started with a bad endpoint"
  grep -q -- '--http-endpoint "127.0.0.1:notaport"' <<<"$out" || fail "message: $out"
}

# /readyz follows the driver: 503 soon after the driver is killed -9, 200
# again once a driver serves the socket again.
test_readyz_follows_the_driver() {
  local port url pid
  start_private_driver
  port=$(free_port)
  url=http://127.0.0.1:$port
  start_daemon main --csi-address="$PRIVATE_ENDPOINT" --http-endpoint="127.0.0.1:$port"
  wait_until 30 "/readyz to answer 200" curl -fsS "$url/readyz"
  pid=$(cat "$TEST_DIR/daemon-driver.pid")
  kill -9 "$pid"
  wait_until 10 "the driver process to exit" process_gone "$pid"
  rm -f "$TEST_DIR/drv/csi.sock"
  wait_until 4 "/readyz to fail without the driver" readyz_fails "$url"
  grep -q "CSI driver" <<<"$(curl -s "$url/readyz")" || fail "/readyz does not name the driver"
  start_private_driver
  wait_until 30 "/readyz to answer 200 again" curl -fsS "$url/readyz"
  stop_daemon main
}

readyz_fails() { ! curl -fsS "$1/readyz" >/dev/null 2>&1; }
