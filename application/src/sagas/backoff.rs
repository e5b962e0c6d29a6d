//! Exponential backoff with jitter for retries of provisioning steps and releases.

use std::time::Duration;

/// `base × 2^(n−1)`, capped at `max`, then scaled by a random factor in [0.5, 1] so that tenants
/// failing together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The delay before try number `failures + 1`, after `failures` (≥ 1) failures.
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1 << exponent).min(self.max);
        full.mul_f64(rand::random_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for failures in 1..40 {
            let d = b.delay(failures);
            let full = Duration::from_millis(100 * (1u64 << (failures - 1).min(20))).min(b.max);
            assert!(d <= full && d >= full / 2, "{failures}: {d:?} vs {full:?}");
        }
    }
}
