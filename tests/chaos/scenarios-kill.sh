# tests/chaos/scenarios-kill.sh - processes killed with SIGKILL at random
# moments of the workload: (a) the daemon, (b) the CSI driver, (e) the
# leader of two replicas. Sourced by tests/chaos/run.

# ---- (a) the daemon killed -9 ----

a_kill() {
  kill -0 "$(cat "$TEST_DIR/daemon-$DAEMON_NAME.pid")" || fail "daemon $DAEMON_NAME exited by itself"
  kill9 "$TEST_DIR/daemon-$DAEMON_NAME.pid"
  rm -f "$TEST_DIR/daemon-$DAEMON_NAME.pid"
  DAEMON_NAME=a$1
  chaos_daemon "$DAEMON_NAME" ca
  # half of the time the next steps wait for the start-up (journal loaded,
  # caches synced); otherwise the next kill may hit the start-up itself
  if ((RANDOM % 2)); then wait_log "$DAEMON_NAME" 60 "running"; fi
}

scenario_daemon_killed() {
  one_daemon_scenario ca a0 "$(pick 40 500)" "$(pick 8 50)" "$(pick 3 12)" a_kill
  report "daemon kills $FAULTS_DONE"
}

# ---- (b) the driver killed -9 and started again a few steps later ----

B_RESTART_AT=0 B_RESTARTS=0
b_kill() {
  driver_running || return 0   # still down from the last kill
  driver_kill
  B_RESTART_AT=$((B_STEP + 1 + RANDOM % 8))
}
b_tick() {
  B_STEP=$1
  if ! driver_running && ((B_STEP >= B_RESTART_AT)); then
    driver_start
    B_RESTARTS=$((B_RESTARTS + 1))
  fi
}

b_after() {
  driver_running || { driver_start; B_RESTARTS=$((B_RESTARTS + 1)); }
  ((B_RESTARTS >= 1)) || fail "the driver was never killed"
}

scenario_driver_killed() {
  WORKLOAD_TICK=b_tick AFTER_WORKLOAD=b_after \
    one_daemon_scenario cb b "$(pick 30 500)" "$(pick 6 50)" "$(pick 2 8)" b_kill
  report "driver kills $B_RESTARTS"
}

# ---- (e) two replicas with leader election; the leader killed -9 ----

E_GEN=0 E_KILLS=0 E_LOST=0
e_start() {
  E_GEN=$((E_GEN + 1))
  chaos_daemon "e$E_GEN" ce --leader-election --leader-election-namespace="$(journal_ns)" \
    --leader-election-lease-duration=4s --leader-election-renew-deadline=3s \
    --leader-election-retry-period=500ms
}

# e_leader - set E_LEADER to the live replica whose latest lease line says it leads.
e_leader() {
  local f name last
  E_LEADER=
  for f in "$TEST_DIR"/daemon-e*.pid; do
    [[ -f $f ]] || continue
    name=${f##*/daemon-}
    name=${name%.pid}
    kill -0 "$(cat "$f")" 2>/dev/null || continue
    # (a replica that never led has no such line: not an error)
    last=$(grep -E "leads via lease" "$TEST_DIR/daemon-$name.log" | tail -1 || true)
    if [[ -n $last && $last != *"no longer leads"* ]]; then
      E_LEADER=$name
      return 0
    fi
  done
  return 1
}

# e_replicas - keep two replicas: one that exited by itself is replaced if
# it said it lost the lease (that ends the process by design), else it crashed.
e_replicas() {
  local f name live=0
  for f in "$TEST_DIR"/daemon-e*.pid; do
    [[ -f $f ]] || continue
    name=${f##*/daemon-}
    name=${name%.pid}
    if kill -0 "$(cat "$f")" 2>/dev/null; then
      live=$((live + 1))
    else
      grep -q "lease lost; exiting" "$TEST_DIR/daemon-$name.log" ||
        fail "replica $name exited by itself, not for a lost lease"
      echo "replica $name lost its lease and exited"
      E_LOST=$((E_LOST + 1))
      rm -f "$f"
    fi
  done
  for ((; live < 2; live++)); do e_start; done
}

e_kill() {
  e_replicas
  wait_until 60 "a replica to lead" e_leader
  e_leader || fail "the leader went before it could be killed"
  kill9 "$TEST_DIR/daemon-$E_LEADER.pid"
  rm -f "$TEST_DIR/daemon-$E_LEADER.pid"
  E_KILLS=$((E_KILLS + 1))
  e_start
}

scenario_leader_killed() {
  local n keep kills f
  n=$(pick 30 500) keep=$(pick 6 50) kills=$(pick 2 10)
  chaos_setup ce chaos-ce
  e_start
  wait_log e1 60 "leads via lease"
  e_start
  workload ce chaos-ce "$n" "$keep" "$kills" e_kill
  e_replicas
  wait_until 60 "a replica to lead" e_leader
  check ce "$(journal_ns)" ce
  for f in "$TEST_DIR"/daemon-e*.pid; do
    f=${f##*/daemon-}
    stop_daemon "${f%.pid}"   # an orderly stop of each replica: exit 0
  done
  report "leader kills $E_KILLS, replicas started $E_GEN, lost leases $E_LOST"
}
