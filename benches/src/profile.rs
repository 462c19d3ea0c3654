//! Device-class profiles (`benches/profiles/*.toml`): what a class of device is (cores, hardware
//! codecs, the CPU share video may take, a declared per-core speed with its public source) and
//! the call modes that matter on it.
//!
//! The per-core speed is declared as a Geekbench 6 single-core score; the factor against the
//! machine running the benchmark is the profile's score over that machine's (the built-in
//! `this-machine` profile, `reference = true`, or a score given on the command line). It is an
//! estimate for devices we cannot run on, and every figure derived from it is marked so.

use std::path::Path;

use rtvc_webrtc::policy::{Call, Decision, Device, Network, Policy};
use serde::{Deserialize, Serialize};

/// The profiles shipped in `benches/profiles/`, compiled in (name, TOML).
const BUILTIN: [(&str, &str); 5] = [
    (
        "iphone-flagship",
        include_str!("../profiles/iphone-flagship.toml"),
    ),
    ("iphone-5yo", include_str!("../profiles/iphone-5yo.toml")),
    (
        "android-low-end",
        include_str!("../profiles/android-low-end.toml"),
    ),
    ("laptop", include_str!("../profiles/laptop.toml")),
    (
        "this-machine",
        include_str!("../profiles/this-machine.toml"),
    ),
];

/// Hardware codecs of a device class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// A hardware H.264 encoder (VideoToolbox, MediaCodec).
    pub h264_encode: bool,
    /// A hardware H.264 decoder.
    pub h264_decode: bool,
    /// A hardware AV1 decoder.
    pub av1_decode: bool,
    /// Where these facts come from.
    pub hardware_source: String,
}

/// One call mode: what the device sends and how many streams it decodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mode {
    /// E.g. "1:1 720p30".
    pub name: String,
    /// Remote streams decoded (1 in 1:1, 3 in a 4-party mesh).
    pub remote_streams: u32,
    /// Height sent (16:9).
    pub height: u32,
    /// Frame rate.
    pub fps: u32,
    /// Bandwidth for the sent stream, kbps.
    pub bandwidth_kbps: u32,
}

impl Mode {
    /// The mode's 16:9 frame size.
    pub fn size(&self) -> (u32, u32) {
        size_16_9(self.height)
    }
}

/// The 16:9 frame size of `height` (even width).
pub fn size_16_9(height: u32) -> (u32, u32) {
    ((height * 16 / 9 + 1) & !1, height)
}

/// A device class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (the file's stem).
    pub name: String,
    /// What it stands for.
    pub description: String,
    /// Cores video may use (on phones: the performance cores).
    pub cores: u32,
    /// Share of those cores video may take (0..=1).
    pub cpu_budget: f64,
    /// Declared Geekbench 6 single-core score.
    pub geekbench6_single_core: u32,
    /// The public source of that score.
    pub speed_source: String,
    /// The machine the relative speeds are measured against.
    #[serde(default)]
    pub reference: bool,
    /// Hardware codecs.
    pub hardware: Hardware,
    /// The call modes that matter.
    pub modes: Vec<Mode>,
}

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No such built-in profile and no such file.
    #[error("no profile {0:?} (built in: {list}; or a path to a .toml file)", list = builtin_names().join(", "))]
    Unknown(String),
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML for a profile.
    #[error("{name}: {source}")]
    Parse {
        /// The profile's file or name.
        name: String,
        /// Why.
        source: toml::de::Error,
    },
    /// Parsed, but a value is out of range.
    #[error("{name}: {field} = {value} is out of range ({range})")]
    Invalid {
        /// The profile.
        name: String,
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it may be.
        range: &'static str,
    },
}

/// The names of the built-in profiles, in order.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

impl Profile {
    /// Parses and checks a profile.
    pub fn parse(name: &str, text: &str) -> Result<Self, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|source| ProfileError::Parse {
            name: name.to_string(),
            source,
        })?;
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), ProfileError> {
        let bad = |field, value: String, range| {
            Err(ProfileError::Invalid {
                name: self.name.clone(),
                field,
                value,
                range,
            })
        };
        if !(1..=64).contains(&self.cores) {
            return bad("cores", self.cores.to_string(), "1..=64");
        }
        if !(self.cpu_budget.is_finite() && self.cpu_budget > 0.0 && self.cpu_budget <= 1.0) {
            return bad("cpu_budget", self.cpu_budget.to_string(), "0 < x <= 1");
        }
        if !(100..=20_000).contains(&self.geekbench6_single_core) {
            return bad(
                "geekbench6_single_core",
                self.geekbench6_single_core.to_string(),
                "100..=20000",
            );
        }
        if self.modes.is_empty() {
            return bad("modes", "[]".into(), "at least one mode");
        }
        for m in &self.modes {
            if !(90..=2160).contains(&m.height) {
                return bad("modes.height", m.height.to_string(), "90..=2160");
            }
            if !(1..=60).contains(&m.fps) {
                return bad("modes.fps", m.fps.to_string(), "1..=60");
            }
            if !(1..=16).contains(&m.remote_streams) {
                return bad(
                    "modes.remote_streams",
                    m.remote_streams.to_string(),
                    "1..=16",
                );
            }
            if !(10..=100_000).contains(&m.bandwidth_kbps) {
                return bad(
                    "modes.bandwidth_kbps",
                    m.bandwidth_kbps.to_string(),
                    "10..=100000",
                );
            }
        }
        Ok(())
    }

    /// Every built-in profile.
    pub fn builtin() -> Vec<Profile> {
        BUILTIN
            .iter()
            // The shipped files are checked by this crate's tests.
            .filter_map(|(n, t)| Profile::parse(n, t).ok())
            .collect()
    }

    /// The reference machine's profile (`reference = true` among the built-ins).
    pub fn reference() -> Option<Profile> {
        Self::builtin().into_iter().find(|p| p.reference)
    }

    /// A built-in profile by name, or a profile file by path.
    pub fn find(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((n, t)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(n, t);
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
                path: name_or_path.to_string(),
                source,
            })?;
            return Profile::parse(name_or_path, &text);
        }
        Err(ProfileError::Unknown(name_or_path.to_string()))
    }

    /// Per-core speed against a machine of Geekbench 6 single-core score `host_score`.
    pub fn relative_speed(&self, host_score: u32) -> f64 {
        f64::from(self.geekbench6_single_core) / f64::from(host_score.max(1))
    }

    /// The policy's view of the device.
    pub fn device(&self, host_score: u32) -> Device {
        let mut d = Device::new(self.cores, self.relative_speed(host_score));
        d.hardware_h264_encode = self.hardware.h264_encode;
        d.hardware_h264_decode = self.hardware.h264_decode;
        d.hardware_av1_decode = self.hardware.av1_decode;
        d
    }

    /// What the policy sends in `mode` (a good network: 50 ms RTT, no loss; the remote side
    /// takes AV1), with this profile's CPU budget as the policy's CPU share. With the default
    /// budget (0.5) this is the decision `rtvc_policy_decide` returns for the same inputs.
    pub fn decide(&self, mode: &Mode, host_score: u32) -> Decision {
        let policy = Policy {
            cpu_share: self.cpu_budget,
        };
        policy.decide(
            &self.device(host_score),
            &mode_network(mode),
            &mode_call(mode),
        )
    }
}

/// The network of a mode: its bandwidth, 50 ms RTT, no loss.
pub fn mode_network(mode: &Mode) -> Network {
    Network {
        bandwidth_bps: mode.bandwidth_kbps.saturating_mul(1000),
        rtt: std::time::Duration::from_millis(50),
        loss: 0.0,
    }
}

/// The call of a mode: its remote streams, size and frame rate; the remote side takes AV1.
pub fn mode_call(mode: &Mode) -> Call {
    let mut c = Call::one_to_one();
    c.remote_streams = mode.remote_streams;
    c.max_height = mode.height;
    c.max_fps = f64::from(mode.fps);
    c.remote_takes_av1 = true;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_one_is_the_reference() {
        for (n, t) in BUILTIN {
            let p = Profile::parse(n, t).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.name, n, "name = file stem");
            assert_eq!(p.modes.len(), 3, "{n}: 1:1, mesh-4, low bandwidth");
            assert!(p.speed_source.contains("http"), "{n}: a public source");
        }
        assert_eq!(Profile::builtin().len(), BUILTIN.len());
        let r = Profile::reference().expect("reference profile");
        assert_eq!(r.name, "this-machine");
        assert!((r.relative_speed(r.geekbench6_single_core) - 1.0).abs() < 1e-12);
        assert_eq!(
            BUILTIN
                .iter()
                .filter(|(_, t)| t.contains("reference = true"))
                .count(),
            1
        );
    }

    #[test]
    fn bad_profiles_are_typed_errors() {
        let good = BUILTIN[0].1;
        let cases = [
            (good.replace("cores = 2", "cores = 0"), "cores"),
            (
                good.replace("cpu_budget = 0.5", "cpu_budget = 1.5"),
                "cpu_budget",
            ),
            (good.replace("fps = 30", "fps = 0"), "modes.fps"),
        ];
        for (text, field) in cases {
            match Profile::parse("x", &text) {
                Err(ProfileError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            Profile::parse("x", "name = 3"),
            Err(ProfileError::Parse { .. })
        ));
        assert!(matches!(
            Profile::parse("x", &format!("{good}\nsurprise = 1\n")),
            Err(ProfileError::Parse { .. })
        ));
        assert!(matches!(
            Profile::find("no-such-profile"),
            Err(ProfileError::Unknown(_))
        ));
        assert!(matches!(
            Profile::find("/nonexistent/p.toml"),
            Err(ProfileError::Io { .. })
        ));
    }

    #[test]
    fn sizes_are_16_by_9_and_even() {
        let m = |height| Mode {
            name: String::new(),
            remote_streams: 1,
            height,
            fps: 30,
            bandwidth_kbps: 500,
        };
        assert_eq!(m(720).size(), (1280, 720));
        assert_eq!(m(360).size(), (640, 360));
        assert_eq!(m(180).size(), (320, 180));
        assert_eq!(m(540).size(), (960, 540));
    }
}
