# The two commands for a fresh Debian/Ubuntu machine:
#   make demo   - install what is missing, build, run the demo: a simulated 1:1 AV1 call
#   make test   - install what is missing, run the whole test suite (release mode)
# Both build in release mode: the C codecs take their build type from the cargo profile, and a
# debug-built libaom is far too slow to encode real frames.

CARGO ?= cargo
RTVC  := target/release/rtvc
DEMO  := target/demo

.PHONY: demo test bootstrap build bench perf clean

bootstrap:
	scripts/bootstrap

build: bootstrap
	$(CARGO) build --release --workspace

# The demo: `rtvc call` with no arguments (20 s, 1:1, AV1, LTE-like network, camera switch,
# 2 s outage; a table per stream and a plot, written to target/demo/rtvc-call.svg).
demo: build
	@mkdir -p $(DEMO)
	cd $(DEMO) && ../release/rtvc call

test: bootstrap
	$(CARGO) test --release --workspace
	@echo "== the codec crate with subsets of its backends (what an iOS build may pick) =="
	$(CARGO) check -q -p rtvc-codec --no-default-features
	$(CARGO) check -q -p rtvc-codec --no-default-features --features dav1d,openh264
	$(CARGO) check -q -p rtvc-codec --no-default-features --features aom,dav1d
	@echo "== the WebRTC adapter without str0m (factories only) =="
	$(CARGO) check -q -p rtvc-webrtc --no-default-features

# Criterion benchmarks (conversion, scaling, encode/decode per size and threads, pipeline, mesh
# step, rate-control and adapter overhead; ~13 min), then their table (ms per frame and per MP).
bench: bootstrap
	$(CARGO) bench -p rtvc-benches
	scripts/bench-table

# The performance report in the README: direct libaom vs our wrapper, same frames, same run.
perf: build
	target/release/aom-direct --reps 3

clean:
	$(CARGO) clean
