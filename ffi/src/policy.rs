//! The policy: device and network in, what to send (codec, hardware or software, size, frame
//! rate) and why out.

use std::ffi::c_char;
use std::time::Duration;

use rtvc_codec::CodecKind;
use rtvc_webrtc::policy::{Battery, Call, CodecPath, Device, Network, Policy, Thermal};

use crate::{copy_out, guard, rtvc_result, write_out};

/// The device.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_device {
    /// Cores video may use.
    pub cores: u32,
    /// Speed of one core relative to the reference machine (1.0), e.g. from Geekbench scores.
    pub relative_core_speed: f64,
    /// Hardware H.264 encoder.
    pub hardware_h264_encode: bool,
    /// Hardware H.264 decoder.
    pub hardware_h264_decode: bool,
    /// Hardware AV1 decoder.
    pub hardware_av1_decode: bool,
    /// 0 nominal, 1 fair, 2 serious, 3 critical (iOS `thermalState`).
    pub thermal: u32,
    /// 0 normal, 1 charging, 2 low.
    pub battery: u32,
}

/// The network now.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_network {
    /// Bandwidth estimate for our stream, kbps.
    pub bandwidth_kbps: u32,
    /// Round trip, ms.
    pub rtt_ms: u32,
    /// Packet loss, 0–1.
    pub loss: f64,
}

/// The call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_call {
    /// Remote streams to decode (1 in 1:1, 3 in a 4-party mesh).
    pub remote_streams: u32,
    /// Largest height to send.
    pub max_height: u32,
    /// Highest frame rate.
    pub max_fps: u32,
    /// The other side(s) take AV1.
    pub remote_takes_av1: bool,
}

/// What to send.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtvc_decision {
    /// 1 AV1, 2 H.264.
    pub codec: u32,
    /// The hardware encoder (else ours).
    pub hardware: bool,
    /// Height to send.
    pub height: u32,
    /// Frame rate.
    pub fps: f64,
    /// Share of the CPU budget used (0–1).
    pub budget_used: f64,
    /// Why, in words, NUL-terminated (cut to fit).
    pub reason: [c_char; 256],
}

/// Decides codec, path, size and frame rate for `device` on `network` in `call`.
///
/// Thread safety: any thread, any time.
///
/// # Safety
/// Inputs readable, `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rtvc_policy_decide(
    device: *const rtvc_device,
    network: *const rtvc_network,
    call: *const rtvc_call,
    out: *mut rtvc_decision,
) -> rtvc_result {
    guard(|| {
        if device.is_null() || network.is_null() || call.is_null() || out.is_null() {
            return Err(rtvc_result::RTVC_NULL_PARAMETER);
        }
        // SAFETY: non-NULL and readable by the caller's promise (integers, floats, bools).
        let (d, n, c) = unsafe { (device.read(), network.read(), call.read()) };
        let bad = Err(rtvc_result::RTVC_INVALID_ARGUMENT);
        if d.cores == 0 || !(d.relative_core_speed.is_finite() && d.relative_core_speed > 0.0) {
            return bad;
        }
        if !(n.loss.is_finite() && (0.0..=1.0).contains(&n.loss)) || c.max_fps == 0 {
            return bad;
        }
        let mut dev = Device::new(d.cores, d.relative_core_speed);
        dev.hardware_h264_encode = d.hardware_h264_encode;
        dev.hardware_h264_decode = d.hardware_h264_decode;
        dev.hardware_av1_decode = d.hardware_av1_decode;
        dev.thermal = match d.thermal {
            0 => Thermal::Nominal,
            1 => Thermal::Fair,
            2 => Thermal::Serious,
            3 => Thermal::Critical,
            _ => return bad,
        };
        dev.battery = match d.battery {
            0 => Battery::Normal,
            1 => Battery::Charging,
            2 => Battery::Low,
            _ => return bad,
        };
        let net = Network {
            bandwidth_bps: n.bandwidth_kbps.saturating_mul(1000),
            rtt: Duration::from_millis(u64::from(n.rtt_ms)),
            loss: n.loss,
        };
        let mut call = Call::one_to_one();
        call.remote_streams = c.remote_streams.clamp(1, 16);
        call.max_height = c.max_height.clamp(90, 2160);
        call.max_fps = f64::from(c.max_fps.min(60));
        call.remote_takes_av1 = c.remote_takes_av1;
        let decision = Policy::default().decide(&dev, &net, &call);
        let mut o = rtvc_decision {
            codec: match decision.codec {
                CodecKind::Av1 => 1,
                _ => 2,
            },
            hardware: decision.path == CodecPath::Hardware,
            height: decision.height,
            fps: decision.fps,
            budget_used: decision.budget_used,
            reason: [0; 256],
        };
        let mut reason = decision.reason.clone();
        reason.truncate(255);
        while !reason.is_char_boundary(reason.len()) {
            reason.pop();
        }
        // SAFETY: 256 bytes, `reason` at most 255.
        unsafe { copy_out(&reason, o.reason.as_mut_ptr(), 256)? };
        // SAFETY: checked non-NULL; the caller's output.
        unsafe { write_out(out, o) }
    })
}
