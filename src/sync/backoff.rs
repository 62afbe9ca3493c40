//! Exponential backoff with jitter and a cap, for retrying the call-centre after failures.
//!
//! "Equal jitter": the n-th wait is half of `min(cap, base·2ⁿ)` plus a random part of the other
//! half, so a fleet that lost the network together does not come back in lock-step, yet no
//! kiosk waits less than half the nominal delay.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap: cap.max(base),
            failures: 0,
        }
    }

    /// The ceiling of the next wait (before jitter).
    pub fn nominal(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(30)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Records a failure and returns how long to wait; `unit` in [0, 1) is the random draw.
    pub fn fail(&mut self, unit: f64) -> Duration {
        let nominal = self.nominal();
        self.failures = self.failures.saturating_add(1);
        let half = nominal / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// A success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_a_success_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
        let top: Vec<_> = (0..10).map(|_| b.fail(1.0).as_millis()).collect();
        assert_eq!(
            top,
            [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        b.reset();
        assert_eq!(b.fail(1.0), Duration::from_millis(500));
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_delay() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..3 {
            b.fail(0.5);
        }
        let nominal = b.nominal();
        let mut low = b.clone();
        let mut high = b.clone();
        assert_eq!(low.fail(0.0), nominal / 2);
        assert_eq!(high.fail(0.999_999).as_millis(), nominal.as_millis() - 1);
        assert_eq!(b.fail(0.5), nominal * 3 / 4);
    }

    #[test]
    fn many_failures_never_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        for _ in 0..1000 {
            b.fail(0.3);
        }
        assert_eq!(b.nominal(), Duration::from_secs(300));
    }
}
