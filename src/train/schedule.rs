//! Learning-rate schedules, one for all groups: each group's LR follows the same curve from its
//! own base LR (as PyTorch does when param groups share one scheduler).
//!
//! The curve is evaluated per optimizer step, so warm-up and annealing are smooth. It is
//! PyTorch's `SequentialLR([LinearLR(start_factor = 1/(W+1), total_iters = W), main],
//! milestones = [W])` stepped once per optimizer step, with `W = warmup_epochs * steps_per_epoch`
//! and `main` one of
//! - `CosineAnnealingLR(T_max = t_max * steps_per_epoch - W, eta_min = min_lr)`:
//!   `lr = min_lr + (base - min_lr) * (1 + cos(pi * t / T)) / 2` with `t` the steps since warm-up;
//! - `StepLR(step_size = step_size * steps_per_epoch, gamma)`: `base * gamma^floor(t / step_size)`;
//! - constant: `base`.
//!
//! Warm-up: step `s < W` uses `base * (s + 1) / (W + 1)`: it never trains a step at LR 0 and
//! reaches `base` at the first step after warm-up.
//!
//! Without warm-up, the cosine sampled at epoch boundaries equals PyTorch's per-epoch
//! `CosineAnnealingLR(T_max, eta_min)`; with `steps_per_epoch = 1` the whole schedule is the
//! per-epoch PyTorch one. One deliberate difference: after `T_max` PyTorch's cosine climbs back
//! up (it is periodic); here the LR stays at `min_lr`.

use crate::config::{ScheduleKind, TrainConfig};

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// Optimizer steps per epoch (>= 1); converts fractional epochs into steps.
    pub steps_per_epoch: u64,
    pub warmup_steps: u64,
    /// Cosine: the step at which the LR reaches `min_lr` (T_max in steps, counted from step 0).
    pub t_max_steps: u64,
    /// Step schedule: steps between decays (>= 1).
    pub step_size_steps: u64,
    pub gamma: f64,
    pub min_lr: f64,
}

impl Schedule {
    /// A schedule in epochs, evaluated per optimizer step.
    pub fn new(
        kind: ScheduleKind,
        steps_per_epoch: usize,
        warmup_epochs: u32,
        t_max_epochs: u32,
        step_size_epochs: u32,
        gamma: f64,
        min_lr: f64,
    ) -> Schedule {
        let spe = steps_per_epoch.max(1) as u64;
        Schedule {
            kind,
            steps_per_epoch: spe,
            warmup_steps: u64::from(warmup_epochs) * spe,
            t_max_steps: u64::from(t_max_epochs) * spe,
            step_size_steps: (u64::from(step_size_epochs) * spe).max(1),
            gamma,
            min_lr,
        }
    }

    /// The step a position in epochs (e.g. `epoch + batches_done / steps_per_epoch`) falls on.
    pub fn step_of(&self, position_epochs: f64) -> u64 {
        (position_epochs.max(0.0) * self.steps_per_epoch as f64).round() as u64
    }

    /// The LR of a group with base LR `base` at a position in epochs (0.0 = the first step).
    pub fn lr_at(&self, base: f64, position_epochs: f64) -> f64 {
        self.lr_at_step(base, self.step_of(position_epochs))
    }

    /// The LR of a group with base LR `base` for optimizer step `step` (0-based).
    pub fn lr_at_step(&self, base: f64, step: u64) -> f64 {
        let w = self.warmup_steps;
        if step < w {
            return base * (step + 1) as f64 / (w + 1) as f64;
        }
        let t = step - w;
        match self.kind {
            ScheduleKind::Constant => base,
            ScheduleKind::Step => base * self.gamma.powf((t / self.step_size_steps) as f64),
            ScheduleKind::Cosine => {
                let period = self.t_max_steps.saturating_sub(w).max(1);
                let t = t.min(period) as f64;
                let c = (1.0 + (std::f64::consts::PI * t / period as f64).cos()) / 2.0;
                self.min_lr + (base - self.min_lr) * c
            }
        }
    }

    /// The base LR that gives `lr` at `step`: what a "set the LR now" request rebases to.
    /// `None` where the schedule does not depend on the base (the end of a cosine).
    pub fn base_for(&self, lr: f64, step: u64) -> Option<f64> {
        // lr_at_step is affine in base: lr = a * base + b.
        let b = self.lr_at_step(0.0, step);
        let a = self.lr_at_step(1.0, step) - b;
        (a > 1e-12).then(|| (lr - b) / a)
    }
}

impl TrainConfig {
    /// This config's schedule for `steps_per_epoch` optimizer steps an epoch.
    pub fn schedule(&self, steps_per_epoch: usize) -> Schedule {
        Schedule::new(
            self.schedule,
            steps_per_epoch,
            self.warmup_epochs,
            self.t_max_epochs(),
            self.step_size,
            self.gamma,
            self.min_lr,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        kind: String,
        steps_per_epoch: usize,
        warmup_epochs: u32,
        t_max_epochs: u32,
        step_size_epochs: u32,
        gamma: f64,
        min_lr: f64,
        base_lrs: Vec<f64>,
        lrs: Vec<Vec<f64>>,
    }

    fn fixture() -> Fixture {
        let text = include_str!("../../tests/fixtures/train/schedule.json");
        serde_json::from_str(text).expect("schedule.json parses")
    }

    #[test]
    fn matches_pytorch_schedulers() {
        let f = fixture();
        assert!(f.cases.len() >= 5);
        for c in &f.cases {
            let kind: ScheduleKind = c.kind.parse().unwrap();
            let s = Schedule::new(
                kind,
                c.steps_per_epoch,
                c.warmup_epochs,
                c.t_max_epochs,
                c.step_size_epochs,
                c.gamma,
                c.min_lr,
            );
            for (base, want) in c.base_lrs.iter().zip(&c.lrs) {
                for (step, w) in want.iter().enumerate() {
                    let got = s.lr_at_step(*base, step as u64);
                    let rel = (got - w).abs() / w.abs().max(1e-300);
                    assert!(
                        rel <= 1e-12,
                        "{}: base {base} step {step}: got {got}, torch {w}",
                        c.name
                    );
                    // The epoch-position API agrees at every step.
                    let pos = step as f64 / c.steps_per_epoch as f64;
                    assert_eq!(s.lr_at(*base, pos), got);
                }
            }
        }
    }

    #[test]
    fn recipe_cosine_hits_eta_min_at_t_max_and_stays() {
        let cfg = TrainConfig::default(); // cosine, 50 epochs, min_lr 1e-6
        let s = cfg.schedule(10);
        assert_eq!(s.lr_at(1e-3, 0.0), 1e-3);
        assert!((s.lr_at(1e-3, 25.0) - (1e-6 + (1e-3 - 1e-6) / 2.0)).abs() < 1e-15);
        assert!((s.lr_at(1e-3, 50.0) - 1e-6).abs() < 1e-18);
        assert!((s.lr_at(1e-3, 60.0) - 1e-6).abs() < 1e-18, "held at min_lr after T_max");
        // Smooth within an epoch: strictly decreasing step by step.
        let lrs: Vec<f64> = (0..=500).map(|i| s.lr_at_step(1e-3, i)).collect();
        assert!(lrs.windows(2).all(|p| p[1] < p[0]));
    }

    #[test]
    fn groups_share_the_curve_not_the_value() {
        let s = Schedule::new(ScheduleKind::Step, 1, 0, 1, 2, 0.5, 0.0);
        for step in 0..7 {
            let ratio = s.lr_at_step(1e-3, step) / s.lr_at_step(1e-4, step);
            assert!((ratio - 10.0).abs() < 1e-9);
        }
        assert_eq!(s.lr_at_step(1.0, 4), 0.25);
    }

    #[test]
    fn base_for_inverts_lr_at() {
        let s = Schedule::new(ScheduleKind::Cosine, 4, 1, 5, 1, 1.0, 1e-6);
        for step in [0, 3, 4, 9, 15] {
            let base = s.base_for(3e-4, step).unwrap();
            assert!((s.lr_at_step(base, step) - 3e-4).abs() < 1e-15, "step {step}");
        }
        assert_eq!(
            s.base_for(3e-4, 20),
            None,
            "at T_max the LR is min_lr whatever the base"
        );
    }

    #[test]
    fn warmup_longer_than_t_max_does_not_divide_by_zero() {
        let s = Schedule::new(ScheduleKind::Cosine, 2, 3, 2, 1, 1.0, 1e-6);
        assert_eq!(s.lr_at_step(1.0, 6), 1.0);
        assert!((s.lr_at_step(1.0, 7) - 1e-6).abs() < 1e-15);
        assert!((0..20).all(|i| s.lr_at_step(1.0, i).is_finite()));
    }
}
