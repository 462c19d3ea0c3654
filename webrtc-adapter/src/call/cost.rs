//! CPU time of encoding and decoding, and the cores an endpoint has.
//!
//! Encode and decode run for real; what their time adds to latency is either the time they
//! really took here ([`CostModel::Measured`]) or a per-megapixel figure measured once on this
//! machine ([`CostModel::Fixed`], so that the same seed gives exactly the same run). An
//! endpoint's encodes and decodes share its cores: a job starts when a core is free.

use rtvc_codec::CodecKind;

/// Where CPU times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostModel {
    /// The time each encode and decode really took.
    #[default]
    Measured,
    /// A per-resolution table ([`fixed_cost_ms`]).
    Fixed,
}

/// Fixed cost of one frame, ms: per-megapixel figures measured here (2 threads; README,
/// "Performance"): libaom realtime encode ≈ 8.6 ms/MP (1280x720 at 127 fps), openh264
/// encode ≈ 2.6 ms/MP (418 fps), dav1d and openh264 decode ≈ 2.2 ms/MP; 0.3 ms minimum.
pub fn fixed_cost_ms(codec: CodecKind, encode: bool, width: u32, height: u32) -> f64 {
    let mp = f64::from(width) * f64::from(height) / 1e6;
    let per_mp = match (codec, encode) {
        (CodecKind::Av1, true) => 8.6,
        (_, true) => 2.6,
        (_, false) => 2.2,
    };
    (per_mp * mp).max(0.3)
}

/// The cores of one endpoint.
#[derive(Debug, Clone)]
pub struct Cpu {
    busy_until_ms: Vec<f64>,
    busy_ms: f64,
}

impl Cpu {
    /// `cores` cores (at least one), all idle.
    pub fn new(cores: u32) -> Self {
        Self {
            busy_until_ms: vec![0.0; cores.max(1) as usize],
            busy_ms: 0.0,
        }
    }

    /// Runs a job that is ready at `ready_ms` and takes `cost_ms` on the first free core;
    /// returns when it finishes.
    pub fn run(&mut self, ready_ms: f64, cost_ms: f64) -> f64 {
        let core = self
            .busy_until_ms
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one core");
        let start = core.max(ready_ms);
        *core = start + cost_ms.max(0.0);
        self.busy_ms += cost_ms.max(0.0);
        *core
    }

    /// CPU time used so far, ms.
    pub fn busy_ms(&self) -> f64 {
        self.busy_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_queue_for_free_cores() {
        let mut cpu = Cpu::new(2);
        assert_eq!(cpu.run(0.0, 10.0), 10.0);
        assert_eq!(cpu.run(0.0, 10.0), 10.0);
        assert_eq!(cpu.run(1.0, 5.0), 15.0, "both busy until 10");
        assert_eq!(cpu.run(30.0, 1.0), 31.0);
        assert_eq!(cpu.busy_ms(), 26.0);
        assert!((fixed_cost_ms(CodecKind::Av1, true, 1280, 720) - 7.93).abs() < 0.01);
    }
}
