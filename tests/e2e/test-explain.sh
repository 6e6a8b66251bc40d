# tests/e2e/test-explain.sh - `csi-provisioner explain` and `preflight`
# against the real cluster and driver: each blocked case the provisioning
# tests create is named by its cause (exit 1); a claim the daemon can
# provision, a bound one, a held CreateVolume's journal intent and a
# Released volume are explained (exit 0); preflight names a verb taken
# from the provisioner's role; bad arguments exit 2 with a clear message.
# Read-only is checked in the API server's audit log: explain run as the
# daemon's identity sends only get/list/watch, preflight only discovery and
# SelfSubjectAccessReviews.
# explain runs as the admin (it reads events, which the daemon's identity
# may not); preflight runs as the daemon's identity, whose rights it checks.

# ex ARGS... - explain as the admin, with the daemon's journal namespace.
ex() {
  env POD_NAMESPACE="$(journal_ns)" "$BIN" explain "$@" --kubeconfig="$KUBECONFIG"
}

# ex_json NS/CLAIM WANT-RC [FLAGS...] - explain -o json into $TEST_DIR/ex.json;
# the exit code must be WANT-RC.
ex_json() {
  local target=$1 want=$2 rc=0
  shift 2
  ex "$target" -o json --csi-address="$CSI_ENDPOINT" "$@" >"$TEST_DIR/ex.json" \
    2>"$TEST_DIR/ex.err" || rc=$?
  [[ $rc == "$want" ]] || { cat "$TEST_DIR/ex.json" "$TEST_DIR/ex.err"; fail "explain $target exited $rc, want $want"; }
}

# ex_cause NS/CLAIM CAUSE PATTERN [FLAGS...] - the first blocker is CAUSE, its message matches PATTERN,
# and the text output names both.
ex_cause() {
  local target=$1 cause=$2 pat=$3
  shift 3
  ex_json "$target" 1 "$@"
  jq -e --arg c "$cause" '.blocked and .blockers[0].cause == $c' "$TEST_DIR/ex.json" >/dev/null ||
    { cat "$TEST_DIR/ex.json"; fail "$target: cause is not $cause"; }
  grep -qE -- "$pat" <<<"$(jq -r '.blockers[0].message' "$TEST_DIR/ex.json")" ||
    { cat "$TEST_DIR/ex.json"; fail "$target: message does not match /$pat/"; }
  ex "$target" --csi-address="$CSI_ENDPOINT" "$@" >"$TEST_DIR/ex.txt" 2>&1 && fail "text: exit 0"
  grep -q "BLOCKED" "$TEST_DIR/ex.txt" && grep -q -- "$cause" "$TEST_DIR/ex.txt" ||
    { cat "$TEST_DIR/ex.txt"; fail "$target: the text output does not name $cause"; }
}

# audit_agent_count AGENT-PREFIX - requests of the provisioner identity with that User-Agent.
audit_agent_count() {
  jq -s --arg a "$1" '[.[] | select((.userAgent // "") | startswith($a))] | length' "$AUDIT_LOG"
}
audit_agent_seen() { (($(audit_agent_count "$1") > 0)); }

# audit_only AGENT-PREFIX JQ-TEST - every request with that User-Agent passes JQ-TEST.
audit_only() {
  jq -e -s --arg a "$1" "[.[] | select((.userAgent // \"\") | startswith(\$a))] | all($2)" \
    "$AUDIT_LOG" >/dev/null
}

claim_annotated() {
  [[ -n $(k get -n "$1" "pvc/$2" -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/storage-provisioner}') ]]
}

ex_ns_ready() { k get namespace "$(journal_ns)" >/dev/null 2>&1 || k create namespace "$(journal_ns)" >/dev/null; }

# Every blocked case, with no daemon running: explain decides from the cluster alone.
test_explain_names_each_blocked_cause() {
  ex_ns_ready
  new_namespace exb
  make_class exb-good Delete
  make_class exb-half Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: only-name'
  make_class exb-secret Delete 'parameters:
  csi.storage.k8s.io/provisioner-secret-name: nowhere
  csi.storage.k8s.io/provisioner-secret-namespace: exb'
  k apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: exb-wffc
provisioner: $CSI_DRIVER_NAME
volumeBindingMode: WaitForFirstConsumer
YAML
  k apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: exb-other
provisioner: other.example.com
YAML
  make_claim exb good exb-good
  make_claim exb nocls exb-missing
  make_claim exb badclass exb-half
  make_claim exb nosecret exb-secret
  make_claim exb wffc exb-wffc
  make_claim exb other exb-other
  for c in good badclass nosecret other; do
    wait_until 30 "claim $c annotated by the PV controller" claim_annotated exb "$c"
  done

  ex_json exb/good 0
  jq -e '.ownership.verdict == "provision" and .request.name == .volume_name and
         .request.required == 1048576 and .request.access_modes == ["SINGLE_NODE_MULTI_WRITER"] and
         (.request.requisite | length) == 1 and (.blockers | length) == 0' "$TEST_DIR/ex.json" >/dev/null ||
    { cat "$TEST_DIR/ex.json"; fail "the provisionable claim"; }
  ex_cause exb/nocls class-not-found 'StorageClass "exb-missing" does not exist'
  ex_cause exb/badclass class-invalid 'needs both'
  ex_cause exb/nosecret secret-missing 'cannot get secret "exb/nowhere"'
  ex_cause exb/wffc waiting-for-node 'WaitForFirstConsumer'
  ex_cause exb/other not-ours 'names provisioner "other.example.com", not "hostpath.csi.k8s.io"'
  ex_cause exb/good not-whitelisted 'not in --storageclass-whitelist' --storageclass-whitelist=exb-other
  ex_cause exb/ghost claim-not-found 'does not exist'
  # no driver: it decides ownership and the request, so explain says it cannot look
  ex_cause exb/good driver 'none.sock.*not reachable' --csi-address="unix://$TEST_DIR/none.sock" --timeout=1s
  # secret values never appear; the secret's keys do, redacted
  k create secret generic -n exb nowhere --from-literal=pw=not-in-output >/dev/null
  ex_json exb/nosecret 0
  jq -e '.request.secrets.pw == "<redacted>" and .request.secret_ref == "exb/nowhere"' \
    "$TEST_DIR/ex.json" >/dev/null || { cat "$TEST_DIR/ex.json"; fail "secret reference"; }
  ! grep -q not-in-output "$TEST_DIR/ex.json" || fail "a secret value reached the output"
  # as the daemon's identity: the same cause, and (the audit log says) only reads
  local rc=0
  env POD_NAMESPACE="$(journal_ns)" "$BIN" explain exb/badclass -o json \
    --csi-address="$CSI_ENDPOINT" --kubeconfig="$PROVISIONER_KUBECONFIG" >"$TEST_DIR/ex.json" \
    2>"$TEST_DIR/ex.err" || rc=$?
  [[ $rc == 1 ]] && jq -e '.blockers[0].cause == "class-invalid"' "$TEST_DIR/ex.json" >/dev/null ||
    { cat "$TEST_DIR/ex.json" "$TEST_DIR/ex.err"; fail "explain as the daemon's identity"; }
  if [[ -n ${AUDIT_LOG:-} ]]; then
    wait_until 30 "explain's requests in the audit log" audit_agent_seen csi-provisioner-explain/
    audit_only csi-provisioner-explain/ '.verb == "get" or .verb == "list" or .verb == "watch"' ||
      fail "explain sent something other than get/list/watch"
  else
    echo "no audit log (CLUSTER_AUDIT_POLICY unset): read-only check skipped"
  fi
  k delete storageclass exb-good exb-half exb-secret exb-wffc exb-other >/dev/null
  finish_namespace exb
}

# With the daemon: an infeasible refusal (delay left), a held CreateVolume
# (journal intent), then a bound claim.
test_explain_infeasible_intent_and_bound() {
  trap csi_cleanup EXIT
  new_namespace exd
  make_class exd-class Delete
  fp_start
  fp_rules 'CreateVolume fail code=INVALID_ARGUMENT message="unsupported replicas" count=1'
  start_daemon main --csi-address="$FP_ENDPOINT" --retry-interval-start=1s --retry-interval-max=10m
  make_claim exd inf exd-class
  wait_until 60 "the infeasible event" event_says exd inf ProvisioningFailed 'infeasible'
  ex_cause exd/inf infeasible 'unsupported replicas.*next attempt is in about [0-9]+ s' \
    --retry-interval-max=10m
  fp_rules 'CreateVolume hold'
  make_claim exd held exd-class
  wait_until 60 "CreateVolume to be held" fp_count_at_least CreateVolume held 1
  ex_json exd/held 0
  jq -e '.journal.state == "intent recorded" and .journal.request.name == .volume_name and
         .journal.claim_uid == .uid' "$TEST_DIR/ex.json" >/dev/null ||
    { cat "$TEST_DIR/ex.json"; fail "the held claim's intent"; }
  fp_rules ''
  wait_bound exd held 60
  ex_json exd/held 0
  jq -e '.bound_to == .volume_name and .pv.ours and (.blockers | length) == 0' \
    "$TEST_DIR/ex.json" >/dev/null || { cat "$TEST_DIR/ex.json"; fail "the bound claim"; }
  k delete -n exd pvc/inf >/dev/null
  finish_namespace exd
}

# A Released volume with policy Delete: explain says the daemon deletes it,
# then the daemon does.
test_explain_released_volume() {
  new_namespace exr
  make_class exr-class Delete
  start_daemon main --csi-address="$CSI_ENDPOINT"
  make_claim exr data exr-class
  wait_bound exr data 60
  local pv
  pv=$(pv_of exr data)
  stop_daemon main
  k delete -n exr pvc/data --timeout=60s >/dev/null
  k wait "pv/$pv" --for=jsonpath='{.status.phase}'=Released --timeout=60s >/dev/null
  ex_json exr/data 0
  jq -e --arg pv "$pv" '.found == false and (.blockers | length) == 0 and
      .volumes[0].name == $pv and .volumes[0].phase == "Released" and .volumes[0].delete and
      (.volumes[0].reason | test("deletes the volume"))' "$TEST_DIR/ex.json" >/dev/null ||
    { cat "$TEST_DIR/ex.json"; fail "the Released volume"; }
  start_daemon main --csi-address="$CSI_ENDPOINT"
  k wait "pv/$pv" --for=delete --timeout=60s >/dev/null
  finish_namespace exr
}

pf() { "$BIN" preflight --kubeconfig="$PROVISIONER_KUBECONFIG" "$@"; }

preflight_says_missing() {
  local rc=0
  pf --csi-address="$CSI_ENDPOINT" >"$TEST_DIR/pf.txt" 2>&1 || rc=$?
  [[ $rc == 1 ]] && grep -q "missing: create persistentvolumes" "$TEST_DIR/pf.txt"
}

test_preflight_names_a_missing_verb() {
  trap 'pv_create_allowed yes' EXIT   # pv_create_allowed: test-noleak.sh
  local rc=0
  pf --csi-address="$CSI_ENDPOINT" -o json >"$TEST_DIR/pf.json" || rc=$?
  [[ $rc == 0 ]] || { cat "$TEST_DIR/pf.json"; fail "preflight exited $rc with every right granted"; }
  jq -e '.driver.reachable and .driver.name == "hostpath.csi.k8s.io" and .journal.writable and
         (.missing | length) == 0 and ([.permissions[] | select(.needed)] | length) >= 20 and
         ([.apis[] | select(.served)] | length) == 3' "$TEST_DIR/pf.json" >/dev/null ||
    { cat "$TEST_DIR/pf.json"; fail "preflight's report"; }
  pv_create_allowed no
  # RBAC changes reach the authorizer through its informer: wait for it
  wait_until 30 "preflight to name the missing verb" preflight_says_missing
  pf --csi-address="$CSI_ENDPOINT" -o json >"$TEST_DIR/pf.json" && fail "exit 0 with a verb missing"
  jq -e '.missing == ["create persistentvolumes"] and
         .blockers[0].cause == "permission"' "$TEST_DIR/pf.json" >/dev/null ||
    { cat "$TEST_DIR/pf.json"; fail "preflight's report of the missing verb"; }
  pv_create_allowed yes
  if [[ -n ${AUDIT_LOG:-} ]]; then
    wait_until 30 "preflight's requests in the audit log" audit_agent_seen csi-provisioner-preflight/
    audit_only csi-provisioner-preflight/ '.verb == "get" or (.verb == "create" and
        .objectRef.resource == "selfsubjectaccessreviews")' ||
      fail "preflight sent something other than discovery and access reviews"
  fi
  # no driver: exit 1, and it says which address
  rc=0
  pf --csi-address="unix://$TEST_DIR/none.sock" --timeout=1s >"$TEST_DIR/pf.txt" 2>&1 || rc=$?
  [[ $rc == 1 ]] && grep -q "none.sock" "$TEST_DIR/pf.txt" ||
    { cat "$TEST_DIR/pf.txt"; fail "preflight without a driver exited $rc"; }
}

# expect_usage PATTERN ARGS... - exit 2 and PATTERN on stderr, nothing on stdout.
expect_usage() {
  local pat=$1 rc=0
  shift
  "$BIN" "$@" >"$TEST_DIR/u.out" 2>"$TEST_DIR/u.err" || rc=$?
  [[ $rc == 2 ]] || fail "$* exited $rc, want 2"
  grep -q -- "$pat" "$TEST_DIR/u.err" || { cat "$TEST_DIR/u.err"; fail "$*: no /$pat/"; }
  [[ ! -s $TEST_DIR/u.out ]] || fail "$*: wrote to stdout"
}

test_explain_and_preflight_refuse_bad_arguments() {
  expect_usage 'which claim' explain
  expect_usage 'expected NAMESPACE/CLAIM' explain just-a-name
  expect_usage 'ns/a/b' explain ns/a/b
  expect_usage 'comes first' explain --v=2 ns/c
  expect_usage 'text or json' explain ns/c -o yaml
  expect_usage 'needs a value' preflight -o
  expect_usage 'unknown flag "--bogus"' preflight --bogus
  expect_usage 'unexpected' preflight stray
  expect_usage 'volume-name-uuid-length' explain ns/c --volume-name-uuid-length=99
  grep -q 'usage: csi-provisioner explain' <<<"$("$BIN" explain --help)" || fail "explain --help"
}
