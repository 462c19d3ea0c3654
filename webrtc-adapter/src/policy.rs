//! Which codec, which path (hardware or software), what size and frame rate a phone should send
//! in a call, from what it is and what the network allows — with the reason in words.
//!
//! The decision, in order:
//! 1. **Size and frame rate from the bandwidth**, by the rate controller's ladder for the codec
//!    (AV1: 720p from 150 kbps, 360p from 80 kbps, else 180p; H.264: 720p from 250 kbps, 360p
//!    from 100 kbps) and its frame-rate steps (15 fps under 60 kbps, 10 under 40), capped by the
//!    call's largest size. Loss of 10 % or more caps the size at 360p: every lost packet of a
//!    keyframe costs a new keyframe, and smaller keyframes fit in fewer packets.
//! 2. **The CPU budget**: a share of the device's cores (50 %, 25 % when the thermal state is
//!    serious, 10 % when critical; ×0.6 on low battery), in units of this project's 2-core
//!    reference machine via the device's declared per-core speed. Software encoding plus the
//!    decoding of every remote stream (3 in a 4-party mesh) must fit, from the per-frame costs
//!    measured here ([`COSTS`]), with a quarter of the budget kept free ([`HEADROOM`]: a scene
//!    cut or a keyframe costs more than an average frame); a hardware codec costs no CPU budget.
//! 3. **The codec**: AV1 in software when the remote side takes AV1 and it fits — at the same
//!    bitrate it looks better (44.1 vs 42.2 dB PSNR-Y at 720p / 1.2 Mbps on the talking-head
//!    clip, README) — unless a hardware H.264 encoder exists and the device is hot or low on
//!    battery; otherwise H.264, in hardware when the device has it. If nothing fits at the
//!    bandwidth's size, the size steps down until it does (down to 180p).
//!
//! The costs are estimates for other devices (a declared speed factor, not a measurement on
//! them): the device-class benchmarks (`rtvc bench`) measure them here. Remote streams are
//! costed at the call's largest size. The RTT is taken but does not change the decision: its
//! effects (queueing) are the rate controller's business, frame by frame.

use std::fmt;
use std::time::Duration;

use rtvc_codec::CodecKind;

/// Per-frame cost on the reference machine (2 cores, 2 threads), milliseconds of wall time, as
/// measured with `make perf` / `rtvc encode` / `rtvc decode` on the talking-head clip (README);
/// AV1 encode at 360p and 180p re-measured with `rtvc bench` (p50) after libaom's speed table
/// moved to slower, better-compressing speeds there. The decode figures are `rtvc decode`'s
/// (with output), above `rtvc bench`'s decode-call times: kept as the conservative side.
/// (codec, height, encode ms, decode ms).
pub const COSTS: [(CodecKind, u32, f64, f64); 6] = [
    (CodecKind::Av1, 720, 8.6, 3.3),
    (CodecKind::Av1, 360, 2.4, 1.0),
    (CodecKind::Av1, 180, 1.0, 0.35),
    (CodecKind::H264, 720, 2.7, 3.5),
    (CodecKind::H264, 360, 0.75, 1.0),
    (CodecKind::H264, 180, 0.25, 0.35),
];

/// Share of the CPU budget a choice may use: the rest is headroom for frames that cost more than
/// the average (scene cuts, keyframes; p99 encode times run about 1.5× the median).
pub const HEADROOM: f64 = 0.75;

/// Thermal state, as iOS reports it (`ProcessInfo.thermalState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Thermal {
    /// Normal.
    #[default]
    Nominal,
    /// Slightly elevated.
    Fair,
    /// High: the system throttles.
    Serious,
    /// Very high: cut everything.
    Critical,
}

/// Battery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Battery {
    /// Unknown or plenty.
    #[default]
    Normal,
    /// Charging.
    Charging,
    /// Low (e.g. under 20 %, or low-power mode).
    Low,
}

/// What the device is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Device {
    /// CPU cores video may use.
    pub cores: u32,
    /// Speed of one core relative to the reference machine's (e.g. from Geekbench
    /// single-core scores).
    pub relative_core_speed: f64,
    /// A hardware H.264 encoder (VideoToolbox, MediaCodec).
    pub hardware_h264_encode: bool,
    /// A hardware H.264 decoder.
    pub hardware_h264_decode: bool,
    /// A hardware AV1 decoder (recent phones).
    pub hardware_av1_decode: bool,
    /// Thermal state.
    pub thermal: Thermal,
    /// Battery state.
    pub battery: Battery,
}

impl Device {
    /// A device with `cores` cores of `relative_core_speed`, no hardware codecs, cool, charged.
    pub fn new(cores: u32, relative_core_speed: f64) -> Self {
        Self {
            cores,
            relative_core_speed,
            hardware_h264_encode: false,
            hardware_h264_decode: false,
            hardware_av1_decode: false,
            thermal: Thermal::Nominal,
            battery: Battery::Normal,
        }
    }
}

/// What the network allows now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network {
    /// Bandwidth estimate for our stream, bits/s.
    pub bandwidth_bps: u32,
    /// Round-trip time.
    pub rtt: Duration,
    /// Packet loss fraction (0..=1).
    pub loss: f64,
}

/// The call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Call {
    /// Remote streams to decode (1 in a 1:1 call, 3 in a 4-party mesh).
    pub remote_streams: u32,
    /// Largest size to send (the camera's).
    pub max_height: u32,
    /// Highest frame rate to send.
    pub max_fps: f64,
    /// The remote side(s) take AV1.
    pub remote_takes_av1: bool,
}

impl Call {
    /// A 1:1 call at up to 720p30 where the remote side takes AV1.
    pub fn one_to_one() -> Self {
        Self {
            remote_streams: 1,
            max_height: 720,
            max_fps: 30.0,
            remote_takes_av1: true,
        }
    }

    /// A 4-party mesh (3 remote streams) at up to 720p30.
    pub fn mesh4() -> Self {
        Self {
            remote_streams: 3,
            ..Self::one_to_one()
        }
    }
}

/// Hardware or software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecPath {
    /// The device's hardware encoder.
    Hardware,
    /// Our software encoder.
    Software,
}

/// What to send, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Codec.
    pub codec: CodecKind,
    /// Hardware or software encoder.
    pub path: CodecPath,
    /// Height to send (width follows the camera's aspect).
    pub height: u32,
    /// Frame rate.
    pub fps: f64,
    /// Share of the CPU budget the choice is estimated to use (0 for hardware encode with
    /// hardware decodes).
    pub budget_used: f64,
    /// Why, in words.
    pub reason: String,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {}p{}: {}",
            self.codec, self.path, self.height, self.fps, self.reason
        )
    }
}

/// The policy (a value: its thresholds can be tuned; [`Policy::default`] is what the README
/// describes).
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Share of the device's cores video may use when it is cool and charged.
    pub cpu_share: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { cpu_share: 0.5 }
    }
}

/// The ladder's size for `bandwidth` and the codec (see the module docs).
fn height_for(codec: CodecKind, bps: u32) -> u32 {
    let thresholds = match codec {
        CodecKind::Av1 => rtvc_codec::rate::ladder::AV1_THRESHOLDS,
        CodecKind::H264 => rtvc_codec::rate::ladder::H264_THRESHOLDS,
    };
    thresholds
        .iter()
        .find(|&&(_, min)| bps >= min)
        .map_or(180, |&(h, _)| h)
}

fn fps_for(bps: u32) -> f64 {
    if bps < 40_000 {
        10.0
    } else if bps < 60_000 {
        15.0
    } else {
        30.0
    }
}

fn cost(codec: CodecKind, height: u32) -> (f64, f64) {
    COSTS
        .iter()
        .filter(|c| c.0 == codec)
        .min_by_key(|c| c.1.abs_diff(height))
        .map_or((f64::INFINITY, f64::INFINITY), |c| (c.2, c.3))
}

fn smaller(height: u32) -> Option<u32> {
    match height {
        h if h > 360 => Some(360),
        h if h > 180 => Some(180),
        _ => None,
    }
}

impl Policy {
    /// Reference-machine milliseconds of CPU per frame interval the device can give video.
    fn budget_ms(&self, device: &Device, fps: f64) -> (f64, Vec<&'static str>) {
        let mut share = self.cpu_share;
        let mut why = Vec::new();
        match device.thermal {
            Thermal::Serious => {
                share = share.min(0.25);
                why.push("thermal state serious");
            }
            Thermal::Critical => {
                share = share.min(0.10);
                why.push("thermal state critical");
            }
            _ => {}
        }
        if device.battery == Battery::Low {
            share *= 0.6;
            why.push("battery low");
        }
        // The reference machine's 2 cores are 1.0; the costs are its wall time on 2 threads.
        let capacity = f64::from(device.cores.max(1)) / 2.0 * device.relative_core_speed.max(0.01);
        (1000.0 / fps * capacity * share, why)
    }

    /// Estimated share of the budget sending `codec` at `height` on `path` takes, with the
    /// remote streams decoded (in hardware where the device can).
    fn load(
        &self,
        device: &Device,
        call: &Call,
        codec: CodecKind,
        path: CodecPath,
        height: u32,
        budget_ms: f64,
    ) -> f64 {
        let (enc, _) = cost(codec, height);
        let encode = if path == CodecPath::Hardware {
            0.0
        } else {
            enc
        };
        // Remote streams arrive in the same codec at up to the call's size.
        let hw_decode = match codec {
            CodecKind::Av1 => device.hardware_av1_decode,
            CodecKind::H264 => device.hardware_h264_decode,
        };
        let (_, dec) = cost(codec, call.max_height);
        let decode = if hw_decode {
            0.0
        } else {
            dec * f64::from(call.remote_streams)
        };
        (encode + decode) / budget_ms.max(1e-9)
    }

    /// Decides what to send (see the module docs).
    pub fn decide(&self, device: &Device, network: &Network, call: &Call) -> Decision {
        let fps = fps_for(network.bandwidth_bps).min(call.max_fps.max(1.0));
        let (budget, pressure) = self.budget_ms(device, fps);
        let lossy = network.loss >= 0.10;
        let size_for = |codec| {
            let mut h = height_for(codec, network.bandwidth_bps).min(call.max_height);
            if lossy {
                h = h.min(360);
            }
            h
        };
        let hot_or_low = !pressure.is_empty();
        // Candidates in order of preference.
        let mut candidates: Vec<(CodecKind, CodecPath)> = Vec::new();
        let av1 = call.remote_takes_av1;
        if hot_or_low && device.hardware_h264_encode {
            candidates.push((CodecKind::H264, CodecPath::Hardware));
        }
        if av1 {
            candidates.push((CodecKind::Av1, CodecPath::Software));
        }
        if device.hardware_h264_encode
            && !candidates.contains(&(CodecKind::H264, CodecPath::Hardware))
        {
            candidates.push((CodecKind::H264, CodecPath::Hardware));
        }
        candidates.push((CodecKind::H264, CodecPath::Software));

        let mut notes: Vec<String> = pressure.iter().map(|s| s.to_string()).collect();
        if lossy {
            notes.push(format!(
                "loss {:.0} % caps the size at 360p",
                network.loss * 100.0
            ));
        }
        let wanted_top = size_for(CodecKind::Av1).max(size_for(CodecKind::H264));
        // The first candidate that fits at its bandwidth size; else the first that fits at a
        // smaller size; else the cheapest at 180p.
        let mut height_cap = wanted_top;
        loop {
            for &(codec, path) in &candidates {
                let h = size_for(codec).min(height_cap);
                let load = self.load(device, call, codec, path, h, budget);
                if load <= HEADROOM {
                    let mut reason = match (codec, path) {
                        (CodecKind::Av1, _) => {
                            "AV1 in software fits the CPU budget and looks better than H.264 at the same bitrate".to_string()
                        }
                        (CodecKind::H264, CodecPath::Hardware) if hot_or_low => {
                            "hardware H.264 saves power".to_string()
                        }
                        (CodecKind::H264, CodecPath::Hardware) if !av1 => {
                            "the remote side does not take AV1; hardware H.264".to_string()
                        }
                        (CodecKind::H264, CodecPath::Hardware) => {
                            "AV1 in software does not fit the CPU budget; hardware H.264".to_string()
                        }
                        (CodecKind::H264, CodecPath::Software) if !av1 => {
                            "the remote side does not take AV1 and there is no hardware H.264 encoder".to_string()
                        }
                        (CodecKind::H264, CodecPath::Software) => {
                            "AV1 in software does not fit the CPU budget and there is no hardware H.264 encoder".to_string()
                        }
                    };
                    reason.push_str(&format!(
                        "; {}p{} for {} kbps (estimated {:.0} % of the CPU budget)",
                        h,
                        fps,
                        network.bandwidth_bps / 1000,
                        load * 100.0
                    ));
                    if h < size_for(codec) {
                        reason.push_str(&format!("; {}p would not fit the CPU", size_for(codec)));
                    }
                    for n in &notes {
                        reason.push_str("; ");
                        reason.push_str(n);
                    }
                    return Decision {
                        codec,
                        path,
                        height: h,
                        fps,
                        budget_used: load,
                        reason,
                    };
                }
            }
            match smaller(height_cap) {
                Some(h) => height_cap = h,
                None => break,
            }
        }
        // Nothing fits even at 180p: the cheapest option, said plainly.
        let (codec, path) = *candidates
            .last()
            .unwrap_or(&(CodecKind::H264, CodecPath::Software));
        let path = if device.hardware_h264_encode {
            CodecPath::Hardware
        } else {
            path
        };
        let load = self.load(device, call, codec, path, 180, budget);
        Decision {
            codec,
            path,
            height: 180,
            fps: fps.min(15.0),
            budget_used: load,
            reason: format!(
                "nothing fits the CPU budget (the cheapest needs {:.0} % of it at 180p): \
                 H.264 at 180p, at most 15 fps",
                load * 100.0
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(kbps: u32, loss: f64) -> Network {
        Network {
            bandwidth_bps: kbps * 1000,
            rtt: Duration::from_millis(80),
            loss,
        }
    }

    fn flagship() -> Device {
        Device {
            hardware_h264_encode: true,
            hardware_h264_decode: true,
            hardware_av1_decode: true,
            ..Device::new(6, 2.5)
        }
    }

    fn old_iphone() -> Device {
        Device {
            hardware_h264_encode: true,
            hardware_h264_decode: true,
            ..Device::new(2, 0.9)
        }
    }

    fn low_end_android() -> Device {
        Device::new(4, 0.45)
    }

    /// (name, device, network, call, expected (codec, path, height, fps), words in the reason)
    type Case = (
        &'static str,
        Device,
        Network,
        Call,
        (CodecKind, CodecPath, u32, f64),
        &'static str,
    );

    #[test]
    fn decisions_on_a_table_of_cases() {
        use CodecKind::{Av1, H264};
        use CodecPath::{Hardware, Software};
        let p = Policy::default();
        let hot = Device {
            thermal: Thermal::Serious,
            ..flagship()
        };
        let h264_only = Call {
            remote_takes_av1: false,
            ..Call::one_to_one()
        };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("flagship, good network, 1:1", flagship(), net(2000, 0.0), Call::one_to_one(), (Av1, Software, 720, 30.0), "looks better"),
            ("flagship, hot", hot.clone(), net(2000, 0.0), Call::one_to_one(), (H264, Hardware, 720, 30.0), "saves power"),
            ("flagship, low battery", Device { battery: Battery::Low, ..flagship() }, net(2000, 0.0), Call::one_to_one(), (H264, Hardware, 720, 30.0), "battery low"),
            ("flagship, remote without AV1", flagship(), net(2000, 0.0), h264_only.clone(), (H264, Hardware, 720, 30.0), "does not take AV1"),
            ("flagship, 120 kbps", flagship(), net(120, 0.0), Call::one_to_one(), (Av1, Software, 360, 30.0), "360p30 for 120 kbps"),
            ("flagship, 50 kbps", flagship(), net(50, 0.0), Call::one_to_one(), (Av1, Software, 180, 15.0), "180p15"),
            ("flagship, 30 kbps", flagship(), net(30, 0.0), Call::one_to_one(), (Av1, Software, 180, 10.0), "180p10"),
            ("flagship, 15 % loss", flagship(), net(2000, 0.15), Call::one_to_one(), (Av1, Software, 360, 30.0), "loss 15 %"),
            ("5-year-old iPhone, 1:1", old_iphone(), net(1500, 0.0), Call::one_to_one(), (H264, Hardware, 720, 30.0), "does not fit the CPU budget; hardware"),
            ("5-year-old iPhone, mesh of 4, 400 kbps", old_iphone(), net(400, 0.0), Call::mesh4(), (H264, Hardware, 720, 30.0), "does not fit the CPU budget; hardware"),
            ("5-year-old iPhone without hardware, mesh of 4", Device { hardware_h264_encode: false, hardware_h264_decode: false, ..old_iphone() }, net(400, 0.0), Call::mesh4(), (H264, Software, 360, 30.0), "720p would not fit"),
            ("low-end Android, 1:1, 1 Mbps", low_end_android(), net(1000, 0.0), Call::one_to_one(), (H264, Software, 720, 30.0), "no hardware H.264"),
            ("low-end Android, mesh of 4", low_end_android(), net(1000, 0.0), Call::mesh4(), (H264, Software, 360, 30.0), "720p would not fit"),
            ("low-end Android, remote without AV1", low_end_android(), net(1000, 0.0), h264_only, (H264, Software, 720, 30.0), "does not take AV1 and there is no hardware"),
        ];
        for (name, device, network, call, (codec, path, height, fps), reason) in cases {
            let d = p.decide(&device, &network, &call);
            println!("{name}: {d}");
            assert_eq!(
                (d.codec, d.path, d.height, d.fps),
                (codec, path, height, fps),
                "{name}: {d}"
            );
            assert!(
                d.reason.contains(reason),
                "{name}: {:?} lacks {reason:?}",
                d.reason
            );
            assert!(d.budget_used <= HEADROOM, "{name}: {d}");
        }
    }

    #[test]
    fn a_device_that_cannot_keep_up_gets_the_cheapest_and_is_told_so() {
        let d = Policy::default().decide(&Device::new(1, 0.05), &net(1000, 0.0), &Call::mesh4());
        assert_eq!(
            (d.codec, d.path, d.height),
            (CodecKind::H264, CodecPath::Software, 180)
        );
        assert!(d.fps <= 15.0);
        assert!(d.budget_used > 1.0);
        assert!(d.reason.starts_with("nothing fits"), "{d}");
    }
}
