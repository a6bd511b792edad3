//! A small seeded PRNG for reproducible random timing.

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64*: enough randomness for timing, and reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `RELIABILITY_SEED` when set (to replay a failure), else from the clock.
    pub fn from_env_or_clock() -> (Rng, u64) {
        let seed = std::env::var("RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        (Rng::new(seed), seed)
    }

    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        self.next_u64() % (max + 1)
    }
}
