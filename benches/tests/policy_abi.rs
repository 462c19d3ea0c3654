//! `rtvc bench` reports the decision the C ABI returns: for every shipped profile and call mode,
//! the profile's decision (through `rtvc_webrtc::policy`) equals `rtvc_policy_decide`'s for the
//! same device, network and call.
#![allow(unsafe_code)]

use rtvc::{rtvc_call, rtvc_decision, rtvc_device, rtvc_network, rtvc_policy_decide, rtvc_result};
use rtvc_benches::profile::{Profile, mode_call, mode_network};
use rtvc_codec::CodecKind;
use rtvc_webrtc::policy::CodecPath;

#[test]
fn every_profile_and_mode_decides_as_the_c_abi() {
    let reference = Profile::reference().expect("reference profile");
    let host = reference.geekbench6_single_core;
    let mut checked = 0;
    for p in Profile::builtin() {
        // The C ABI takes the default policy (50 % of the cores); the shipped profiles use it.
        assert_eq!(
            p.cpu_budget, 0.5,
            "{}: the C ABI has no budget field",
            p.name
        );
        for m in &p.modes {
            let ours = p.decide(m, host);
            let d = p.device(host);
            let net = mode_network(m);
            let call = mode_call(m);
            let device = rtvc_device {
                cores: d.cores,
                relative_core_speed: d.relative_core_speed,
                hardware_h264_encode: d.hardware_h264_encode,
                hardware_h264_decode: d.hardware_h264_decode,
                hardware_av1_decode: d.hardware_av1_decode,
                thermal: 0,
                battery: 0,
            };
            let network = rtvc_network {
                bandwidth_kbps: net.bandwidth_bps / 1000,
                rtt_ms: net.rtt.as_millis() as u32,
                loss: net.loss,
            };
            let c = rtvc_call {
                remote_streams: call.remote_streams,
                max_height: call.max_height,
                max_fps: call.max_fps as u32,
                remote_takes_av1: call.remote_takes_av1,
            };
            let mut out = rtvc_decision {
                codec: 0,
                hardware: false,
                height: 0,
                fps: 0.0,
                budget_used: 0.0,
                reason: [0; 256],
            };
            // SAFETY: all four point to live values of the right types.
            let r = unsafe { rtvc_policy_decide(&device, &network, &c, &mut out) };
            assert_eq!(r, rtvc_result::RTVC_OK);
            let codec = if out.codec == 1 {
                CodecKind::Av1
            } else {
                CodecKind::H264
            };
            let what = format!("{} / {}", p.name, m.name);
            assert_eq!(codec, ours.codec, "{what}");
            assert_eq!(out.hardware, ours.path == CodecPath::Hardware, "{what}");
            assert_eq!(out.height, ours.height, "{what}");
            assert_eq!(out.fps, ours.fps, "{what}");
            assert!((out.budget_used - ours.budget_used).abs() < 1e-12, "{what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 15, "5 profiles × 3 modes");
}

#[test]
fn the_profiles_span_the_device_classes() {
    let reference = Profile::reference().expect("reference profile");
    let host = reference.geekbench6_single_core;
    let speeds: Vec<(String, f64)> = Profile::builtin()
        .iter()
        .map(|p| (p.name.clone(), p.relative_speed(host)))
        .collect();
    let speed = |n: &str| speeds.iter().find(|s| s.0 == n).map(|s| s.1).expect(n);
    // The flagship is the fastest per core, the low-end phone the slowest.
    assert!(speed("iphone-flagship") > speed("iphone-5yo"));
    assert!(speed("android-low-end") < 0.5 * speed("iphone-5yo"));
    // And the policy treats them differently: the low-end phone sends 720p only in hardware.
    let low = Profile::find("android-low-end").expect("profile");
    let d = low.decide(&low.modes[0], host);
    assert!(
        d.path == CodecPath::Hardware || d.height < 720,
        "low-end 1:1 720p: {d}"
    );
    let top = Profile::find("iphone-flagship").expect("profile");
    let d = top.decide(&top.modes[0], host);
    assert_eq!(
        (d.codec, d.height),
        (CodecKind::Av1, 720),
        "flagship 1:1: {d}"
    );
}
