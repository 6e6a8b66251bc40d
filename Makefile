# csi-provisioner - the two commands of the README, and their parts.
#
#   make demo   install, build, start a local cluster, provision a claim, tear down
#   make check  install, build, run every test suite
#
# Everything the targets need is installed by scripts/install-deps.sh (Debian
# packages) and tests/peers/build (pinned upstream peers, cached per machine).

BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps build peers check unit e2e demo clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

peers: deps
	@tests/peers/build >/dev/null

check: build peers
	@tests/run

unit: build
	@tests/run --unit-only

e2e: build peers
	@tests/run --e2e-only

demo: build peers
	@scripts/demo

clean:
	rm -rf $(BUILD)
