#!/usr/bin/env bash
# install-deps.sh - install the Debian (bookworm) packages csi-provisioner needs
# to build and test. Idempotent: does nothing when every package is present.
# When a package is missing and we are root, runs `apt-get update` once and
# `apt-get install -y --no-install-recommends` for the missing ones; when not
# root, prints the missing packages and exits 1.
# --bench adds what bench/report needs beyond the build and tests (gnuplot,
# for the charts of docs/benchmarks.md); make check does not need it.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config meson ninja-build
  libgrpc-dev protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev protobuf-compiler-grpc
  libcurl4-openssl-dev libjansson-dev libyaml-dev libmicrohttpd-dev libcmocka-dev
  openssl curl jq ca-certificates psmisc
  python3 # tests/cluster/up picks free ports with it
  python3-yaml # tests/e2e/rbac-audit reads the RBAC manifests
  clang libclang-rt-14-dev # tests/fuzz/build: libFuzzer targets, run briefly by the unit suite
  prometheus # only for promtool (tests/e2e/test-metrics-parity.sh); Debian ships no promtool alone
  # The pods mode of the test cluster (tests/cluster/up --pods; the pods smoke
  # of make check, make e2e-pods, make e2e-storage): containerd, runc, the CNI
  # plugins (bridge, host-local, loopback), iproute2 (pods-down deletes the
  # bridge), busybox-static (tests/pods/storage-e2e's busybox image),
  # util-linux (losetup, for its block volumes)
  containerd runc containernetworking-plugins iproute2 busybox-static util-linux
)
if [[ ${1:-} == --bench ]]; then
  PACKAGES+=(gnuplot-nox) # bench/report's charts
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing: ${missing[*]}"
apt-get update -q </dev/null
# Packages with a service (prometheus, containerd) must not start it here: a
# policy that forbids starting services, for this install only, where none is
# in place.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: done"
