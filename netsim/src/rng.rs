//! A tiny deterministic random source (xorshift64) for seeded simulations, synthetic traces and
//! tests: the same seed gives the same sequence on every platform. Not for anything secret.

/// xorshift64 (shifts 13, 7, 17).
#[derive(Debug, Clone)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// From a raw state; 0 becomes 1 (xorshift would stay at 0 forever).
    pub fn from_state(state: u64) -> Self {
        Self(state.max(1))
    }

    /// From any seed, mixed so that nearby seeds give unrelated sequences.
    pub fn seeded(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `[0, 1)`, 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// In `0..n` (0 when `n` is 0); the modulo bias does not matter for simulations.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.next_u64() % 1000 < per_mille
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sequence_and_ranges() {
        // xorshift64 (13, 7, 17) from state 1.
        assert_eq!(XorShift64::from_state(1).next_u64(), 1_082_269_761);
        assert_eq!(XorShift64::from_state(0).next_u64(), 1_082_269_761);
        let mut r = XorShift64::seeded(7);
        let mut again = XorShift64::seeded(7);
        for _ in 0..1000 {
            let x = r.next_f64();
            assert!((0.0..1.0).contains(&x));
            assert_eq!(x.to_bits(), again.next_f64().to_bits());
            assert!(r.below(10) < 10 && again.below(10) < 10);
        }
        assert_eq!(r.below(0), 0);
        assert!(!r.chance(0));
        assert!(r.chance(1000));
    }
}
