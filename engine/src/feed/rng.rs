//! The feed's random numbers: SplitMix64 (Steele, Lea and Flood, "Fast
//! splittable pseudorandom number generators", 2014), written out here so
//! that a seed gives the same quotes on every platform and every version of
//! every dependency, which the engine's determinism depends on.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `-bound ..= bound` (`bound` at least 0).
    #[inline]
    pub fn symmetric(&mut self, bound: i64) -> i64 {
        let span = (2 * bound + 1) as u64;
        // Lemire's multiply-shift: unbiased enough for a price walk and
        // free of the modulo's division.
        let scaled = ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as i64;
        scaled - bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_sequence() {
        // The published SplitMix64 outputs for seed 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn symmetric_stays_in_bounds_and_reaches_both_ends() {
        let mut rng = SplitMix64::new(7);
        let draws: Vec<i64> = (0..10_000).map(|_| rng.symmetric(2)).collect();
        assert!(draws.iter().all(|d| (-2..=2).contains(d)));
        for value in -2..=2 {
            assert!(draws.contains(&value), "never drew {value}");
        }
        assert!((0..100).all(|_| rng.symmetric(0) == 0));
    }
}
