#!/usr/bin/env bash
# Builds RTVC.xcframework (librtvc.a + rtvc.h + module.modulemap) for iOS devices and simulators.
# Runs on a Mac with Xcode and rustup; it has NOT been run on the Linux machine this repository
# is developed on (no iOS SDK there) — see the README, "iOS".
#
#   ffi/ios/build-xcframework.sh                           # all backends but rav1e
#   FEATURES=dav1d,openh264 ffi/ios/build-xcframework.sh   # e.g. no AV1 encoder
#   FEATURES= ffi/ios/build-xcframework.sh                 # pure Rust: factories, policy,
#                                                          # hardware vtable (VideoToolbox only)
#
# The C codecs are cross-built with the iOS SDK's clang:
# - openh264 (openh264-sys2, `cc` crate): CC_<target>/CXX_<target> = xcrun clang, with
#   -isysroot and the minimum iOS version in CFLAGS/CXXFLAGS_<target> (set below);
# - libaom (libaom-sys, cmake): CMAKE_TOOLCHAIN_FILE_<target> = libaom's own
#   build/cmake/toolchains/arm64-ios.cmake (device) / x86_64-ios-simulator.cmake, found in the
#   crate's vendored source under ~/.cargo/registry; set AOM_TOOLCHAIN_DIR to that folder;
# - dav1d (dav1d-sys links libdav1d through pkg-config): build libdav1d as a static library per
#   target with meson and an iOS cross file (dav1d's `package/crossfiles`), then point
#   PKG_CONFIG_PATH_<target> at its pkgconfig folder (DAV1D_PREFIX_<slice> below) with
#   PKG_CONFIG_ALLOW_CROSS=1;
# - rav1e is left out by default: its NEON assembly needs the same treatment and it is never the
#   call encoder (libaom is).
set -euo pipefail
cd "$(dirname "$0")/../.."

FEATURES="${FEATURES-aom,dav1d,openh264}"
OUT="${OUT:-target/ios}"
MIN_IOS="${MIN_IOS:-14.0}"
DEVICE=aarch64-apple-ios
SIMS=(aarch64-apple-ios-sim x86_64-apple-ios)

command -v xcrun >/dev/null || { echo "build-xcframework: needs Xcode (xcrun)" >&2; exit 1; }
rustup target add "$DEVICE" "${SIMS[@]}"

feature_args=(--no-default-features)
if [ -n "$FEATURES" ]; then feature_args+=(--features "$FEATURES"); fi

build() {
    local target=$1 sdk=$2 cmake_toolchain=$3 dav1d_prefix=$4
    local env_target=${target//-/_}
    local sysroot
    sysroot=$(xcrun --sdk "$sdk" --show-sdk-path)
    local flags="-isysroot $sysroot -m${sdk%os}os-version-min=$MIN_IOS"
    [ "$sdk" = iphonesimulator ] && flags="-isysroot $sysroot -mios-simulator-version-min=$MIN_IOS"
    env \
        "CC_$env_target=$(xcrun --sdk "$sdk" -f clang)" \
        "CXX_$env_target=$(xcrun --sdk "$sdk" -f clang++)" \
        "CFLAGS_$env_target=$flags" \
        "CXXFLAGS_$env_target=$flags" \
        "CMAKE_TOOLCHAIN_FILE_$env_target=$cmake_toolchain" \
        "PKG_CONFIG_PATH_$env_target=$dav1d_prefix/lib/pkgconfig" \
        PKG_CONFIG_ALLOW_CROSS=1 \
        IPHONEOS_DEPLOYMENT_TARGET="$MIN_IOS" \
        cargo rustc --release --target "$target" -p rtvc-ffi "${feature_args[@]}" \
        --lib --crate-type staticlib
}

AOM_TOOLCHAIN_DIR="${AOM_TOOLCHAIN_DIR:-}"
build "$DEVICE" iphoneos "$AOM_TOOLCHAIN_DIR/arm64-ios.cmake" "${DAV1D_PREFIX_DEVICE:-}"
build aarch64-apple-ios-sim iphonesimulator "$AOM_TOOLCHAIN_DIR/arm64-ios-simulator.cmake" \
    "${DAV1D_PREFIX_SIM_ARM64:-}"
build x86_64-apple-ios iphonesimulator "$AOM_TOOLCHAIN_DIR/x86_64-ios-simulator.cmake" \
    "${DAV1D_PREFIX_SIM_X86_64:-}"

rm -rf "$OUT"
mkdir -p "$OUT/sim" "$OUT/headers"
# One library per platform in an xcframework: the two simulator architectures joined.
lipo -create \
    "target/aarch64-apple-ios-sim/release/librtvc.a" \
    "target/x86_64-apple-ios/release/librtvc.a" \
    -output "$OUT/sim/librtvc.a"
cp ffi/include/rtvc.h ffi/include/module.modulemap "$OUT/headers/"
xcodebuild -create-xcframework \
    -library "target/$DEVICE/release/librtvc.a" -headers "$OUT/headers" \
    -library "$OUT/sim/librtvc.a" -headers "$OUT/headers" \
    -output "$OUT/RTVC.xcframework"
echo "build-xcframework: $OUT/RTVC.xcframework (features: ${FEATURES:-none})"
