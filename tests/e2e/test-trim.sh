# tests/e2e/test-trim.sh - claims and PVs that are not ours are cached
# trimmed (src/provision/trim.c), and nothing the controller does with them
# changes: a trimmed Bound claim is still a clone source;
# a Pending claim of a class created later is still provisioned; a PV of
# another driver, Released with policy Delete, is left alone.

# foreign_bound NS CLAIM PV CLASS - a PV of another driver (reclaim Delete)
# pre-bound to a claim of CLASS, both created; the binder binds them.
foreign_bound() {
  k apply -f - <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $3
  annotations: {pv.kubernetes.io/provisioned-by: other.example.com, team: tr}
  labels: {team: tr}
spec:
  capacity: {storage: 1Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: $4
  csi: {driver: other.example.com, volumeHandle: $3}
  claimRef: {namespace: $1, name: $2}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $2
  namespace: $1
  labels: {team: tr}
spec:
  storageClassName: $4
  volumeName: $3
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
YAML
}

# A Bound claim is cached trimmed (the daemon logs it at -v=2); cloning it
# still works from the cached copy: size, class, volume and the cloning
# finalizer added by a merge patch of the cached list. (That the patch keeps
# kubernetes.io/pvc-protection is tests/unit/provision/test_trim.c's: here the
# controller manager's PVC protection controller would put it back at once.)
test_trim_bound_claim_is_still_a_clone_source() {
  new_namespace tr1
  make_class tr1-class Delete
  make_claim tr1 src tr1-class 2Mi
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=2
  wait_bound tr1 src
  stop_daemon main
  # restarted with the source Bound: its first list caches it trimmed
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=2
  wait_log main 60 'persistentvolumeclaims: listed [0-9]+ objects \([1-9][0-9]* cached trimmed\)'
  make_clone tr1 copy tr1-class src 2Mi
  wait_bound tr1 copy
  has_clone_finalizer tr1 src || fail "the source claim lacks the cloning finalizer"
  finish_namespace tr1
  stop_daemon main
}

# Objects of another driver are there (and cached trimmed) at the start; a
# Pending claim of a class that does not exist yet is provisioned once the
# class is created; the foreign PV, Released with policy Delete, stays.
test_trim_class_created_later_and_foreign_pv_left_alone() {
  new_namespace tr2
  foreign_bound tr2 theirs tr2-pv-other tr2-late
  wait_bound tr2 theirs
  make_claim tr2 mine tr2-late
  start_daemon main --csi-address="$CSI_ENDPOINT" --v=2
  wait_log main 60 'persistentvolumes: listed [0-9]+ objects \([1-9][0-9]* cached trimmed\)'
  wait_log main 60 'persistentvolumeclaims: listed [0-9]+ objects \([1-9][0-9]* cached trimmed\)'
  make_class tr2-late Delete
  wait_bound tr2 mine
  [[ $(jp pv/"$(pv_of tr2 mine)" '{.spec.csi.driver}') == "$CSI_DRIVER_NAME" ]] ||
    fail "the late class's claim did not get a PV of our driver"
  k delete -n tr2 pvc/theirs
  k wait pv/tr2-pv-other --for=jsonpath='{.status.phase}'=Released --timeout=60s >/dev/null
  # our own claim's deletion is handled after the foreign PV's Released event
  # (one watch, one queue): once our PV is gone, the foreign one was seen too
  local ours
  ours=$(pv_of tr2 mine)
  k delete -n tr2 pvc/mine
  k wait "pv/$ours" --for=delete --timeout=60s >/dev/null
  k get pv/tr2-pv-other >/dev/null || fail "the foreign PV was deleted"
  [[ $(jp pv/tr2-pv-other '{.metadata.annotations.team}') == tr ]] || fail "the foreign PV was changed"
  k delete pv/tr2-pv-other >/dev/null
  finish_namespace tr2
  stop_daemon main
}
