# tests/e2e/test-hostile.sh - tenant input that tries to reach beyond its
# claim, and a driver that echoes secrets back.
#
# Crafted data source names ("../../secrets/x" and friends) and Secret names
# from templates must get a Warning event naming the invalid name and no
# request at all: the API server's audit log of the provisioner's identity
# (tests/cluster/audit-policy.yaml) shows no snapshot, claim or secret
# request for them, and the daemon's log never holds a path built from them.
# A driver error that quotes the request's secrets (csi-hostpath
# --fail-echoing-secrets) reaches Events and logs with the values hidden.

# audit_mark - the audit log's current length, to read only what follows.
audit_mark() { [[ -n ${AUDIT_LOG:-} ]] || fail "no audit log (run through tests/e2e/run)"; wc -l <"$AUDIT_LOG"; }

# audit_since MARK JQ-FILTER - the daemon's audited requests after MARK, as
# "verb requestURI" lines, for those that match the jq filter.
audit_since() {
  tail -n +"$(($1 + 1))" "$AUDIT_LOG" |
    jq -r "select(.user.username == \"csi-provisioner\" and (.userAgent | startswith(\"csi-provisioner/\"))) | select($2) | \"\(.verb) \(.requestURI)\""
}

# hostile_claim NAMESPACE NAME CLASS KIND API-GROUP SOURCE-NAME
hostile_claim() {
  claim_from "$1" "$2" "$3" 1Mi dataSource "${5:-none}" "$4" "$6"
}

# event_count NAMESPACE CLAIM - the count of its ProvisioningFailed event.
event_count() {
  k get -n "$1" events --field-selector "involvedObject.name=$2,reason=ProvisioningFailed" \
    -o jsonpath='{.items[*].count}'
}
event_count_at_least() { (( $(event_count "$1" "$2") >= $3 )); }

test_hostile_names_never_reach_the_api_server() {
  local mark i names claim name q
  # one per shape: traversal, encoded traversal, a query, a path separator, case
  names=("../../secrets/x" "..%2F..%2Fsecrets%2Fx" "x?watch=1&labelSelector=a" "a/b" "Upper")
  new_namespace hostile1
  make_class hostile1-class Delete
  k apply -f - <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: hostile1-tmpl
provisioner: hostpath.csi.k8s.io
reclaimPolicy: Delete
volumeBindingMode: Immediate
parameters:
  csi.storage.k8s.io/provisioner-secret-name: ${pvc.annotations['team.example.com/secret']}
  csi.storage.k8s.io/provisioner-secret-namespace: ${pvc.namespace}
YAML
  mark=$(audit_mark)
  # (no orphan sweep: its cluster-wide list of VolumeSnapshots would count as
  # a snapshot request below, which must come from no crafted name)
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=5 --retry-interval-start=1s --retry-interval-max=2s \
    --snapshot-orphan-sweep-interval=0
  for i in "${!names[@]}"; do
    hostile_claim hostile1 "snap-$i" hostile1-class VolumeSnapshot snapshot.storage.k8s.io "${names[i]}"
    hostile_claim hostile1 "clone-$i" hostile1-class PersistentVolumeClaim "" "${names[i]}"
  done
  # a Secret name from a tenant's annotation, through the class's template
  k apply -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: tmpl
  namespace: hostile1
  annotations:
    team.example.com/secret: "../../configmaps/x"
spec:
  storageClassName: hostile1-tmpl
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
YAML
  for i in "${!names[@]}"; do
    name=${names[i]}
    # the event quotes the name as given (printable ASCII is kept as it is)
    q="\"$name\""
    wait_until 60 "an event on snap-$i naming $q" \
      event_says hostile1 "snap-$i" ProvisioningFailed "invalid VolumeSnapshot name $q"
    wait_until 60 "an event on clone-$i naming $q" \
      event_says hostile1 "clone-$i" ProvisioningFailed "invalid PersistentVolumeClaim name $q"
  done
  wait_until 60 "an event on tmpl naming the Secret name" \
    event_says hostile1 tmpl ProvisioningFailed 'secret name "../../configmaps/x"'
  # a bad source name is final (a claim's dataSource cannot change): while the
  # template claim (retried: its annotation may be fixed) is refused again,
  # the source claims are not
  wait_until 60 "a second refusal of tmpl" event_count_at_least hostile1 tmpl 2
  for i in "${!names[@]}"; do
    [[ $(event_count hostile1 "snap-$i") == 1 ]] || fail "snap-$i was retried"
    [[ $(event_count hostile1 "clone-$i") == 1 ]] || fail "clone-$i was retried"
  done
  for claim in $(k get pvc -n hostile1 -o name); do
    [[ $(k get -n hostile1 "$claim" -o jsonpath='{.status.phase}') == Pending ]] || fail "$claim is not Pending"
    claim_unmarked hostile1 "${claim#*/}" || fail "$claim carries our mark"
  done

  # the API server never saw a request for any of it
  local bad
  bad=$(audit_since "$mark" '.objectRef.resource == "secrets" or
    (.objectRef.resource == "configmaps" and .objectRef.namespace == "hostile1") or
    (.objectRef.resource | startswith("volumesnapshot")) or
    (.objectRef.resource == "persistentvolumeclaims" and .objectRef.name != null and
     (.objectRef.name | test("^(snap|clone)-[0-9]$|^tmpl$") | not))')
  [[ -z $bad ]] || fail "requests outside the claims' business: $bad"
  bad=$(audit_since "$mark" '.requestURI | test("\\.\\.|%25|secrets(/|%2[Ff])x|configmaps/x|labelSelector=a|/Upper|/a/b")')
  [[ -z $bad ]] || fail "a crafted name reached a request: $bad"
  # the claims themselves were read/written only by name, nothing else in their namespace
  bad=$(audit_since "$mark" '.objectRef.namespace == "hostile1" and .objectRef.resource != "events" and
    .objectRef.resource != "persistentvolumeclaims"')
  [[ -z $bad ]] || fail "unexpected requests in the tenant's namespace: $bad"
  # nor did the daemon build a path from it
  ! grep -E '(volumesnapshots|persistentvolumeclaims|secrets)/(\.\.|%2[Ff]|x\?|a/b|Upper)' \
    "$TEST_DIR/daemon-main.log" || fail "the daemon log holds a path built from a crafted name"
  finish_namespace hostile1
  k delete storageclass hostile1-class hostile1-tmpl >/dev/null
  stop_daemon main
}

# A Secret for a class whose driver quotes request secrets in its errors.
hostile_secret_class() {
  k create secret generic -n "$1" creds --from-literal=password=TopSecret-4711 \
    --from-literal=user=svc-user-0042 >/dev/null
  make_class "$2" Delete "parameters:
  csi.storage.k8s.io/provisioner-secret-name: creds
  csi.storage.k8s.io/provisioner-secret-namespace: $1"
}

# events_of NAMESPACE - every event message there, one per line.
events_of() { k get -n "$1" events -o jsonpath='{range .items[*]}{.message}{"\n"}{end}'; }

test_driver_echoing_secrets_on_create_is_hidden() {
  new_namespace hostile2
  hostile_secret_class hostile2 hostile2-class
  start_private_driver --fail-echoing-secrets=CreateVolume
  start_daemon main --csi-address="$PRIVATE_ENDPOINT" --v=5 --retry-interval-start=1s --retry-interval-max=2s
  make_claim hostile2 data hostile2-class
  # the driver did quote them (key names stay), and the values were hidden
  wait_until 60 "a ProvisioningFailed event with the secrets hidden" event_says hostile2 data \
    ProvisioningFailed "CreateVolume refused with secrets \[password=\*\*\* user=\*\*\*\] (values of the request's secrets hidden)"
  ! events_of hostile2 | grep -E 'TopSecret-4711|svc-user-0042' || fail "a secret value reached an Event"
  ! grep -E 'TopSecret-4711|svc-user-0042' "$TEST_DIR/daemon-main.log" || fail "a secret value reached the log"
  finish_namespace hostile2
  k delete storageclass hostile2-class >/dev/null
  stop_daemon main
  stop_daemon driver
}

test_driver_echoing_secrets_on_delete_is_hidden() {
  local pv
  new_namespace hostile3
  hostile_secret_class hostile3 hostile3-class
  start_private_driver --fail-echoing-secrets=DeleteVolume
  start_daemon main --csi-address="$PRIVATE_ENDPOINT" --v=5 --retry-interval-start=1s --retry-interval-max=2s
  make_claim hostile3 data hostile3-class
  wait_bound hostile3 data
  pv=$(pv_of hostile3 data)
  k delete -n hostile3 pvc/data --wait=false >/dev/null
  wait_until 60 "a VolumeFailedDelete event with the secrets hidden" event_says default "$pv" \
    VolumeFailedDelete "DeleteVolume refused with secrets \[password=\*\*\* user=\*\*\*\] (values of the request's secrets hidden)"
  ! events_of default | grep -E 'TopSecret-4711|svc-user-0042' || fail "a secret value reached an Event"
  ! grep -E 'TopSecret-4711|svc-user-0042' "$TEST_DIR/daemon-main.log" || fail "a secret value reached the log"
  # the same driver without the fault: the volume goes
  stop_daemon driver
  start_private_driver
  k wait "pv/$pv" --for=delete --timeout=60s >/dev/null
  finish_namespace hostile3
  k delete storageclass hostile3-class >/dev/null
  stop_daemon main
  stop_daemon driver
}

# A namespace for the Lease and the journal that is no namespace stops
# start-up with a message; no path is built from it.
test_hostile_lease_namespace_is_refused() {
  local rc=0 out
  out=$(timeout 30 "$BIN" --kubeconfig="$PROVISIONER_KUBECONFIG" --csi-address="$CSI_ENDPOINT" \
    --leader-election --leader-election-namespace=../../secrets 2>&1) || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "exit $rc: started with a bad lease namespace"
  grep -q 'namespace.*: invalid namespace "../../secrets"' <<<"$out" || fail "message: $out"
}
