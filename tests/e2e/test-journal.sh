# tests/e2e/test-journal.sh - src/journal against the real API server through
# tests/tools/journal-tool, as the provisioner's own (non-admin) identity:
# the shard Lease holds what was added and loses what was removed, RBAC
# grants exactly what the journal needs, two holders fence each other, and
# an operator's edit of a shard is kept.

JOURNAL_TOOL=${JOURNAL_TOOL:-$ROOT/build/tests/tools/journal-tool/journal-tool}

# jt NS HOLDER COMMAND... - a one-shot journal-tool (it loads, so it takes over).
jt() {
  local ns=$1 holder=$2
  shift 2
  timeout 60 "$JOURNAL_TOOL" --kubeconfig="$PROVISIONER_KUBECONFIG" --namespace="$ns" \
    --base=journal --label=e2e --holder="$holder" "$@"
}

# jt_serve NAME NS HOLDER - a long-running journal-tool (daemon-NAME, stopped
# by stop_daemons), driven with jt_cmd.
jt_serve() {
  local name=$1 ns=$2 holder=$3
  mkfifo "$TEST_DIR/$name.fifo"
  : >"$TEST_DIR/$name.replies"
  "$JOURNAL_TOOL" --kubeconfig="$PROVISIONER_KUBECONFIG" --namespace="$ns" --base=journal \
    --label=e2e --holder="$holder" serve "$TEST_DIR/$name.fifo" "$TEST_DIR/$name.replies" \
    >"$TEST_DIR/daemon-$name.log" 2>&1 &
  echo $! >"$TEST_DIR/daemon-$name.pid"
}

# jt_cmd NAME ID COMMAND... - send one command, print its reply (without the ID).
jt_cmd() {
  local name=$1 id=$2
  shift 2
  timeout 30 bash -c 'printf "%s\n" "$1" >"$2"' _ "$id $*" "$TEST_DIR/$name.fifo" ||
    fail "journal-tool $name did not take '$*'"
  wait_until 60 "journal-tool $name to answer command $id" grep -q "^$id " "$TEST_DIR/$name.replies"
  grep -m1 "^$id " "$TEST_DIR/$name.replies" | cut -d' ' -f2-
}

# shard_value NS SHARD KEY - the record KEY (a short key) of a shard Lease.
shard_value() {
  k get lease -n "$1" "$2" -o json | jq -r --arg k "intent.csi-provisioner.dev/$3" '.metadata.annotations[$k] // empty'
}
shard_holder() {
  k get lease -n "$1" "$2" -o 'jsonpath={.metadata.annotations.csi-provisioner\.dev/journal-holder}'
}
can_i() { "$KUBECTL" --kubeconfig "$PROVISIONER_KUBECONFIG" auth can-i "$@"; }

test_journal_writes_its_lease() {
  local ns=journal-write out verb
  new_namespace $ns
  # RBAC: the provisioner's identity may do what the journal needs, and no more
  for verb in get list create update; do
    [[ $(can_i "$verb" leases.coordination.k8s.io -n $ns) == yes ]] ||
      fail "the provisioner may not $verb leases"
  done
  [[ $(can_i delete leases.coordination.k8s.io -n $ns) == no ]] ||
    fail "the provisioner may delete leases"
  # ConfigMaps: only what the adoption of an older version's shards needs
  for verb in get create update patch; do
    [[ $(can_i "$verb" configmaps -n $ns) == no ]] || fail "the provisioner may $verb configmaps"
  done

  jt $ns p1 add pvc-1 '{"size":"1Gi"}' || fail "add failed"
  [[ $(shard_value $ns journal-0 pvc-1) == '{"size":"1Gi"}' ]] || fail "pvc-1 not in journal-0"
  [[ $(shard_holder $ns journal-0) == p1 ]] || fail "holder is not p1"
  [[ $(k get lease -n $ns -l csi-provisioner.dev/journal=e2e -o name) == lease.coordination.k8s.io/journal-0 ]] ||
    fail "the shard is not found by its label"
  jt $ns p1 add pvc-2 v2 || fail "second add failed"
  out=$(jt $ns p1 list) || fail "list failed"
  [[ $out == $'pvc-1 {"size":"1Gi"}\npvc-2 v2' ]] || fail "list shows '$out'"
  jt $ns p1 remove pvc-1 || fail "remove failed"
  [[ -z $(shard_value $ns journal-0 pvc-1) ]] || fail "pvc-1 still in journal-0"
  [[ $(shard_value $ns journal-0 pvc-2) == v2 ]] || fail "pvc-2 lost"
  finish_namespace $ns
}

test_journal_holders_fence_each_other() {
  local ns=journal-fence out
  new_namespace $ns
  jt_serve a $ns holder-a
  [[ $(jt_cmd a 1 add k1 v1) == ok ]] || fail "holder-a could not add"
  # a second instance loads: it sees what a wrote, and takes the journal over
  out=$(jt $ns holder-b list) || fail "holder-b could not load"
  [[ $out == "k1 v1" ]] || fail "holder-b lists '$out'"
  [[ $(shard_holder $ns journal-0) == holder-b ]] || fail "holder-b did not take over"
  out=$(jt_cmd a 2 add k2 v2)
  [[ $out == "error LOST:"* ]] || fail "holder-a's add after the take-over: '$out'"
  out=$(jt_cmd a 3 add k3 v3)
  [[ $out == "error LOST:"* ]] || fail "holder-a's next add: '$out'"
  [[ -z $(shard_value $ns journal-0 k2) && -z $(shard_value $ns journal-0 k3) ]] ||
    fail "holder-a wrote after it was fenced"
  [[ $(shard_holder $ns journal-0) == holder-b ]] || fail "holder-a took the shard back"
  jt $ns holder-b add k4 v4 || fail "holder-b could not add"
  [[ $(shard_value $ns journal-0 k4) == v4 ]] || fail "k4 not written"
  stop_daemon a
  finish_namespace $ns
}

test_journal_keeps_an_operator_edit() {
  local ns=journal-edit
  new_namespace $ns
  jt_serve a $ns holder-a
  [[ $(jt_cmd a 1 add k1 v1) == ok ]] || fail "first add failed"
  k annotate lease -n $ns journal-0 intent.csi-provisioner.dev/note=by-hand >/dev/null
  [[ $(jt_cmd a 2 add k2 v2) == ok ]] || fail "the add after the edit failed"
  [[ $(shard_value $ns journal-0 note) == by-hand ]] || fail "the operator's edit was lost"
  [[ $(shard_value $ns journal-0 k1) == v1 && $(shard_value $ns journal-0 k2) == v2 ]] ||
    fail "keys missing after the rebase"
  [[ $(jt_cmd a 3 list) == "ok k1 v1 k2 v2 note by-hand" ]] || fail "the journal does not list the edit"
  stop_daemon a
  finish_namespace $ns
}

# With the default shard size (200 KiB of annotations), a full shard is
# accepted by the API server (its limit is 256 KiB of annotations) and the
# next key goes to a new shard.
test_journal_full_shard_overflows() {
  local ns=journal-big big i
  new_namespace $ns
  big=$(head -c 25000 /dev/zero | tr '\0' 'x')
  for i in 1 2 3 4 5 6 7 8; do
    jt $ns p1 add "big-$i" "$big" || fail "add of big-$i failed"
  done
  [[ $(k get lease -n $ns -l csi-provisioner.dev/journal=e2e -o name) == lease.coordination.k8s.io/journal-0 ]] ||
    fail "200,000 bytes did not fit in one shard"
  jt $ns p1 add big-9 "$big" || fail "add of big-9 failed"
  [[ $(shard_value $ns journal-1 big-9) == "$big" ]] || fail "big-9 not in journal-1"
  [[ $(k get lease -n $ns journal-0 -o 'jsonpath={.metadata.annotations.csi-provisioner\.dev/journal-shards}') == 2 ]] ||
    fail "shard 0 does not announce 2 shards"
  [[ $(jt $ns p1 list | wc -l) == 9 ]] || fail "list does not show 9 keys"
  finish_namespace $ns
}
