# tests/e2e/test-metrics-parity.sh - /metrics as upstream v6's, where dashboards
# and alerts read it. After the same scenario (a claim, a clone of it, both
# deleted, under leader election), the scrape must pass `promtool check metrics`
# and have upstream's families, types, label names and values, queue names and
# histogram buckets: its "shape" (every line of the compared families without
# its value) must equal tests/e2e/data/metrics-parity.upstream, the shape of
# upstream's scrape. When bench/build-upstream has built the upstream binary,
# a second test runs it through the same scenario and checks the record
# against it (METRICS_PARITY_RECORD=FILE writes upstream's shape there, to
# refresh the record after a pin change).

PARITY_RECORD=tests/e2e/data/metrics-parity.upstream
# The families compared. Left out: the Go runtime's go_* (we have no Go
# runtime to report), the registry's own meta-metrics and promhttp_* (Go
# library internals), leader_election_slowpath_total and the *_failed_total
# counters, whose series appear only after a slow-path renewal or a failed
# attempt (upstream sometimes has a transient one here: timing, not shape), and
# the queue "unsavedpvs": upstream retries a PersistentVolume it could not
# save on a queue of its own, we on the claims queue (the claim's next sync
# finds the volume by name and saves it again).
PARITY_RE='^(workqueue_|csi_sidecar_operations_seconds|controller_persistentvolume|leader_election_master_status|process_)'

# metrics_shape - stdin: a scrape; stdout: its TYPE lines and its sample
# lines without their values, of the compared families, sorted.
metrics_shape() {
  awk -v re="$PARITY_RE" '
    /^# TYPE / { if ($3 ~ re && $3 !~ /_failed_total$/) print "TYPE " $3 " " $4; next }
    /^#/ || NF == 0 { next }
    {
      line = $0
      sub(/ [^ ]+$/, "", line)
      name = line
      sub(/\{.*/, "", name)
      if (name ~ re && name !~ /_failed_total$/ && line !~ /name="unsavedpvs"/) print line
    }' | LC_ALL=C sort -u
}

# parity_scenario NS URL OUT - with a provisioner serving metrics at URL:
# provision a claim and a clone of it in NS, delete both, and write the
# scrape taken once the delete counters show to OUT.
parity_scenario() {
  local ns=$1 url=$2 out=$3 pv_src pv_copy
  new_namespace "$ns"
  make_class parity-class Delete
  wait_until 60 "metrics at $url" curl -fsS "$url/metrics" -o /dev/null
  make_claim "$ns" src parity-class 2Mi
  wait_bound "$ns" src
  make_clone "$ns" copy parity-class src 2Mi
  wait_bound "$ns" copy
  pv_src=$(pv_of "$ns" src)
  pv_copy=$(pv_of "$ns" copy)
  k delete -n "$ns" pvc/copy --wait=false >/dev/null
  k wait "pv/$pv_copy" --for=delete --timeout=60s >/dev/null
  k delete -n "$ns" pvc/src --wait=false >/dev/null
  k wait "pv/$pv_src" --for=delete --timeout=60s >/dev/null
  # at least: upstream may count a deletion twice (a second sync of the PV
  # being deleted finds the volume gone and counts a success again)
  (wait_until 30 "both deletions counted" deletions_at_least "$url" 2) ||
    fail "deletions: $(curl -fsS "$url/metrics" | grep '^controller_persistentvolume_delete')"
  curl -fsS "$url/metrics" -o "$out"
  finish_namespace "$ns"
}

deletions_at_least() {
  local n
  n=$(metric_value "$1/metrics" 'controller_persistentvolume_delete_total{class="parity-class"}') &&
    ((n >= $2))
}

# shape_matches_record FILE WHO - the shape of the scrape in FILE is the record's.
shape_matches_record() {
  metrics_shape <"$1" >"$1.shape"
  grep -v '^#' "$PARITY_RECORD" | diff -u - "$1.shape" >"$TEST_DIR/shape.diff" ||
    fail "the shape of $2 differs from the record of upstream's (- record, + $2): $(cat "$TEST_DIR/shape.diff")"
}

# our_run FLAG NAME - our daemon, serving metrics with FLAG (--http-endpoint
# or --metrics-address) at PARITY_URL, through the scenario in namespace
# parity-NAME (its lease in parity-le-NAME); the scrape is left in
# $TEST_DIR/ours.txt and its shape must be upstream's.
our_run() {
  local port
  port=$(free_port)
  PARITY_URL=http://127.0.0.1:$port
  new_namespace "parity-le-$2"
  start_daemon main --csi-address="$CSI_ENDPOINT" "$1=127.0.0.1:$port" \
    --leader-election --leader-election-namespace="parity-le-$2"
  parity_scenario "parity-$2" "$PARITY_URL" "$TEST_DIR/ours.txt"
  shape_matches_record "$TEST_DIR/ours.txt" "ours ($1)"
}

# Ours: promtool accepts the scrape, and its shape is upstream's.
test_metrics_parity_promtool_and_shape() {
  local url
  command -v promtool >/dev/null || fail "promtool is missing (scripts/install-deps.sh installs prometheus)"
  our_run --http-endpoint ours
  url=$PARITY_URL
  promtool check metrics <"$TEST_DIR/ours.txt" >"$TEST_DIR/promtool.out" 2>&1 ||
    fail "promtool check metrics: $(cat "$TEST_DIR/promtool.out")"
  # a few facts the shape cannot show: values that move
  [[ $(metric_value "$url/metrics" 'controller_persistentvolumeclaim_provision_total{class="parity-class",source="PersistentVolumeClaim"}') == 1 ]] ||
    fail "the clone is not counted under source=PersistentVolumeClaim"
  [[ $(metric_value "$url/metrics" 'workqueue_adds_total{name="claims"}') != 0 ]] || fail "no claim was queued"
  [[ $(metric_value "$url/metrics" 'workqueue_work_duration_seconds_count{name="volumes"}') != 0 ]] ||
    fail "no volume was worked on"
  awk -v t="$(metric_value "$url/metrics" process_start_time_seconds)" -v now="$(date +%s)" \
    'BEGIN { exit !(t > now - 600 && t <= now) }' || fail "process_start_time_seconds is not when we started"
  stop_daemon main
  k delete namespace parity-le-ours --wait=false >/dev/null
}

# --metrics-address is upstream's deprecated spelling of the same listener:
# the same scrape (shape and all), without the leader-election health check
# (upstream adds that only with --http-endpoint).
test_metrics_parity_metrics_address() {
  our_run --metrics-address addr
  [[ $(curl -s -o /dev/null -w '%{http_code}' "$PARITY_URL/healthz/leader-election") == 404 ]] ||
    fail "/healthz/leader-election is served on --metrics-address"
  stop_daemon main
  k delete namespace parity-le-addr --wait=false >/dev/null
}

# The record is upstream's shape, checked against the upstream binary itself
# when bench/build-upstream has built it (it runs as the cluster admin, so the
# RBAC audit of our identity does not see it).
test_metrics_parity_record_is_upstreams() {
  local up port url pid
  if ! up=$(bench/build-upstream --print-bin 2>/dev/null); then
    echo "SKIP: the upstream binary is not built (bench/build-upstream builds it)"
    return 0
  fi
  port=$(free_port)
  url=http://127.0.0.1:$port
  k get namespace parity-le-upstream >/dev/null 2>&1 || k create namespace parity-le-upstream >/dev/null
  env KUBECONFIG="$KUBECONFIG" "$up" --kubeconfig="$KUBECONFIG" --csi-address="${CSI_ENDPOINT#unix://}" \
    --http-endpoint="127.0.0.1:$port" --leader-election --leader-election-namespace=parity-le-upstream \
    >"$TEST_DIR/daemon-upstream.log" 2>&1 &
  pid=$!
  # stopped by PID on every way out of the test, whatever its exit status
  PARITY_UPSTREAM_PID=$pid
  trap '[[ -z $PARITY_UPSTREAM_PID ]] || kill -TERM "$PARITY_UPSTREAM_PID" 2>/dev/null || true; stop_daemons' EXIT
  parity_scenario parity-upstream "$url" "$TEST_DIR/upstream.txt"
  kill -TERM "$pid"
  wait_until 30 "upstream to exit" process_gone "$pid"
  PARITY_UPSTREAM_PID=
  if [[ -n ${METRICS_PARITY_RECORD:-} ]]; then
    metrics_shape <"$TEST_DIR/upstream.txt" >"$METRICS_PARITY_RECORD"  # add the header by hand
  fi
  shape_matches_record "$TEST_DIR/upstream.txt" upstream
  k delete namespace parity-le-upstream --wait=false >/dev/null
}
