# The two commands for a fresh Debian/Ubuntu machine:
#   make demo   - install what is missing, build, run the demo on the built-in scene
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

demo: build
	@mkdir -p $(DEMO)
	@echo "== AV1 (libaom realtime), 720p, 1.2 Mbps, 10 s of the built-in scene =="
	$(RTVC) encode --input synthetic:1280x720 --output $(DEMO)/demo-av1.ivf --codec av1 --bitrate 1200k --frames 300 --psnr
	@echo "== H.264 (openh264), 720p, 1.2 Mbps =="
	$(RTVC) encode --input synthetic:1280x720 --output $(DEMO)/demo-h264.264 --codec h264 --bitrate 1200k --frames 300 --psnr
	@echo "== decode both back (dav1d, openh264) =="
	$(RTVC) decode --input $(DEMO)/demo-av1.ivf --md5
	$(RTVC) decode --input $(DEMO)/demo-h264.264 --md5

test: bootstrap
	$(CARGO) test --release --workspace
	@echo "== the codec crate with subsets of its backends (what an iOS build may pick) =="
	$(CARGO) check -q -p rtvc-codec --no-default-features
	$(CARGO) check -q -p rtvc-codec --no-default-features --features dav1d,openh264
	$(CARGO) check -q -p rtvc-codec --no-default-features --features aom,dav1d

# Criterion benchmarks (frame plumbing, per-frame encode/decode).
bench: bootstrap
	$(CARGO) bench -p rtvc-benches

# The performance report in the README: direct libaom vs our wrapper, same frames, same run.
perf: build
	target/release/aom-direct --reps 3

clean:
	$(CARGO) clean
