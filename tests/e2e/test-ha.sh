# tests/e2e/test-ha.sh - several replicas: leader election over a Lease.

# Two replicas: one leads and provisions; killed with -9, the other takes
# over and provisions the next claim; an orderly stop releases the Lease.
test_leader_election_failover() {
  new_namespace ha1
  make_class ha1-class Delete
  # a renewal gets 6 s: a loaded CI machine running the ASan build took
  # more than 3 s once, and the leader rightly gave up before the kill
  local le="--leader-election --leader-election-namespace=ha1 --leader-election-lease-duration=8s
    --leader-election-renew-deadline=6s --leader-election-retry-period=1s"
  # shellcheck disable=SC2086
  start_daemon a --csi-address="$CSI_ENDPOINT" $le
  wait_log a 30 "leads via lease"
  # shellcheck disable=SC2086
  start_daemon b --csi-address="$CSI_ENDPOINT" $le
  wait_log b 30 "candidate for lease"
  local holder
  holder=$(k get -n ha1 lease/hostpath-csi-k8s-io -o jsonpath='{.spec.holderIdentity}')
  log_has a "$holder leads" || fail "lease holder $holder is not daemon a"

  make_claim ha1 first ha1-class
  wait_bound ha1 first
  log_has a "claim ha1/first: provisioned" || fail "the leader did not provision"
  ! log_has b "claim ha1/first" || fail "the standby touched the claim"

  kill -9 "$(cat "$TEST_DIR/daemon-a.pid")"
  rm -f "$TEST_DIR/daemon-a.pid"
  make_claim ha1 second ha1-class
  wait_log b 30 "leads via lease"
  wait_bound ha1 second
  log_has b "claim ha1/second: provisioned" || fail "the new leader did not provision"

  # the leader cleans up the claims' volumes, then stops and hands the Lease over
  k delete -n ha1 pvc --all --wait=false
  wait_until 90 "the Delete PVs of ha1 to go" no_delete_pvs_of ha1
  stop_daemon b
  log_has b "released lease" || fail "no release on SIGTERM"
  [[ -z $(k get -n ha1 lease/hostpath-csi-k8s-io -o jsonpath='{.spec.holderIdentity}') ]] ||
    fail "the Lease still names a holder"
  k delete namespace ha1 --wait=false
}
