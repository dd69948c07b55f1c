//! Dynamic loss scaling for f16 training, with the policy of PyTorch's `GradScaler`.
//!
//! f16 stops at 65504 and flushes magnitudes below ~6e-8 to zero, so the small gradients of
//! the activations vanish. The loss is multiplied by a large scale before the backward pass
//! and the gradients divided by it before the update. When a gradient overflows anyway
//! (inf or NaN), the step is skipped and the scale halved; after a run of good steps it is
//! doubled again, so it hovers just under the largest one that fits.

use serde::{Deserialize, Serialize};

use crate::config::Precision;

/// PyTorch's starting scale, growth interval and factors.
const INITIAL: f64 = 65536.0;
const GROWTH_INTERVAL: u32 = 2000;
const GROWTH: f64 = 2.0;
const BACKOFF: f64 = 0.5;
/// Below 1 the scale no longer protects anything: gradients that still overflow do so
/// unscaled, which is divergence or a gradient beyond f16's range, not underflow.
const SMALLEST: f64 = 1.0;

/// The scale and how many finite steps ran since it last changed; saved with checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    pub scale: f64,
    pub good_steps: u32,
}

/// What a step's gradients did to the scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Finite: the update was applied.
    Applied,
    /// Finite, and the scale grew (from, to).
    Grew(f64, f64),
    /// Not finite: the update was skipped and the scale shrank (from, to).
    Skipped(f64, f64),
    /// Not finite at the smallest scale: training cannot go on in f16.
    Diverged,
}

impl Default for LossScale {
    fn default() -> Self {
        Self {
            scale: INITIAL,
            good_steps: 0,
        }
    }
}

impl LossScale {
    /// The scale a run in `precision` goes on with: f16's, from `resumed` (a checkpoint's)
    /// or a fresh one; none for f32 and bf16.
    pub fn for_precision(precision: Precision, resumed: Option<LossScale>) -> Option<LossScale> {
        (precision == Precision::F16).then(|| resumed.unwrap_or_default())
    }

    /// Updates the scale after a step whose (scaled) gradients were `finite` or not.
    pub fn after_step(&mut self, finite: bool) -> Verdict {
        let from = self.scale;
        if !finite {
            self.good_steps = 0;
            if from <= SMALLEST {
                return Verdict::Diverged;
            }
            self.scale = (from * BACKOFF).max(SMALLEST);
            return Verdict::Skipped(from, self.scale);
        }
        self.good_steps += 1;
        if self.good_steps < GROWTH_INTERVAL {
            return Verdict::Applied;
        }
        self.good_steps = 0;
        self.scale = from * GROWTH;
        Verdict::Grew(from, self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflow_halves_the_scale_and_restarts_the_count() {
        let mut s = LossScale::default();
        for _ in 0..10 {
            assert_eq!(s.after_step(true), Verdict::Applied);
        }
        assert_eq!(s.after_step(false), Verdict::Skipped(65536.0, 32768.0));
        assert_eq!(s.good_steps, 0);
        assert_eq!(s.after_step(false), Verdict::Skipped(32768.0, 16384.0));
    }

    #[test]
    fn the_scale_doubles_after_two_thousand_finite_steps_in_a_row() {
        let mut s = LossScale::default();
        s.after_step(false);
        for _ in 0..GROWTH_INTERVAL - 1 {
            assert_eq!(s.after_step(true), Verdict::Applied);
        }
        assert_eq!(s.after_step(true), Verdict::Grew(32768.0, 65536.0));
        assert_eq!((s.scale, s.good_steps), (65536.0, 0));
    }

    #[test]
    fn overflowing_at_scale_one_is_divergence_not_a_skip() {
        let mut s = LossScale {
            scale: 2.0,
            good_steps: 5,
        };
        assert_eq!(s.after_step(false), Verdict::Skipped(2.0, 1.0));
        assert_eq!(s.after_step(false), Verdict::Diverged);
        assert_eq!(s.scale, 1.0);
    }
}
