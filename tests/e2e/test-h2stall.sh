# tests/e2e/test-h2stall.sh - libcurl 7.88's HTTP/2 stall: list pages
# whose every byte had arrived were left unfinished until the request
# timeout when an idle watch shared their HTTP/2 connection (~1 page in 130
# when they did). Requests now run on HTTP/1.1 connections of their own
# (src/kube/direct.c) and streamed lists on the watches' lanes;
# tests/tools/list-stall pages through 2,000 ConfigMaps, and streams them,
# beside idle watches in that layout and counts the lists that stall. The
# ConfigMaps stay for the next test (their own namespace; nothing watches
# ConfigMaps).

LIST_STALL=${LIST_STALL:-$ROOT/build/tests/tools/list-stall/list-stall}
H2S_NS=h2stall
H2S_N=2000

# h2s_populate - H2S_N ConfigMaps of ~1.5 KiB in namespace H2S_NS (four
# kubectl create at once), unless they are there already.
h2s_populate() {
  if k get namespace "$H2S_NS" >/dev/null 2>&1 &&
    [[ $(k get configmaps -n "$H2S_NS" --no-headers 2>/dev/null | grep -c '^cm-') -eq $H2S_N ]]; then
    return 0
  fi
  k create namespace "$H2S_NS" >/dev/null 2>&1 || true
  local per=$((H2S_N / 4)) pids=() i
  for ((i = 0; i < 4; i++)); do
    awk -v a=$((i * per)) -v n=$per -v ns="$H2S_NS" 'BEGIN {
      pad = sprintf("%1400s", ""); gsub(/ /, "x", pad)
      for (j = a; j < a + n; j++) {
        printf "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: %s\n", j, ns
        printf "  labels: {app: h2stall, shard: \"%d\"}\ndata:\n  index: \"%d\"\n  pad: %s\n", j % 7, j, pad
      } }' | k create -f - >/dev/null &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fail "creating the ConfigMaps"; done
}

# h2s_run NAME ARGS... - list-stall with the admin's credentials (the
# provisioner's RBAC has no ConfigMaps), output in $TEST_DIR/NAME.out;
# fails the test when anything stalled.
h2s_run() {
  local name=$1
  shift
  if ! timeout 300 "$LIST_STALL" --kubeconfig="$KUBECONFIG" --v=2 "$@" \
    "/api/v1/namespaces/$H2S_NS/configmaps" >"$TEST_DIR/$name.out" 2>&1; then
    grep -v '^I' "$TEST_DIR/$name.out" | tail -20 >&2
    fail "list-stall $name: $(grep '^pages' "$TEST_DIR/$name.out" || echo 'no summary')"
  fi
  grep '^pages' "$TEST_DIR/$name.out"
}

# The daemon's layout: pages and streamed lists on their connections, idle
# watches ended by the server every second on the watches' connection.
test_h2stall_daemon_layout_does_not_stall() {
  h2s_populate
  h2s_run pages --threads=2 --rounds=20 --watchers=4 --watch-timeout=1 \
    --stall-ms=5000 --timeout-ms=15000
  h2s_run streams --threads=2 --rounds=10 --stream --watchers=4 --watch-timeout=1 \
    --stall-ms=5000 --timeout-ms=15000
}
