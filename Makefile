# csi-provisioner - the two commands of the README, and their parts.
#
#   make demo   install, build, start a local cluster, provision a claim, tear down
#   make check  install, build, run every test suite
#   make image  the container image as an OCI archive (scripts/image), no registry
#   make e2e-pods  csi-provisioner as real pods (tests/pods/run; its smoke is in check)
#   make e2e-storage  Kubernetes' storage e2e suite against it (tests/pods/storage-e2e)
#
# Everything the targets need is installed by scripts/install-deps.sh (Debian
# packages) and tests/peers/build (pinned upstream peers, cached per machine).

BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_FLAGS ?=

.PHONY: all deps build build-asan peers check unit e2e chaos demo clean image e2e-pods e2e-storage

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The same tree under AddressSanitizer and UndefinedBehaviorSanitizer: the
# unit tests and a share of the end-to-end tests run on it too.
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_FLAGS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

peers: deps
	@tests/peers/build >/dev/null

# tests/run builds the peers itself, in the background while the unit tests run.
check: build build-asan
	@ASAN_BUILD=$(ASAN_BUILD) tests/run

unit: build
	@tests/run --unit-only

e2e: build peers
	@tests/run --e2e-only

image: deps
	@scripts/image

# A kubelet-backed cluster (tests/cluster/up --pods): its peers (kubelet,
# kube-scheduler) are a separate, optional set built on first use.
e2e-pods: deps peers
	@tests/pods/run

# Kubernetes' storage e2e suite (External Storage) against our daemon, on the
# pods-mode cluster; e2e.test, the test driver's node side and the snapshot
# controller are built on first use (tests/peers/build-e2e,
# build-hostpath-node, build-snapshotter). Not in check.
e2e-storage: deps peers build
	@tests/pods/storage-e2e

# The chaos suite with its full counts (500 claims per scenario, >= 10
# daemon kills; tests/chaos/README.md). CHAOS_SEED=N replays a run.
chaos: build peers
	@tests/chaos/run --long

demo: build peers
	@scripts/demo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
