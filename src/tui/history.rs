//! The charts' series, kept by step: training loss (raw and smoothed), validation loss,
//! training and validation accuracy, each group's learning rate, and where commands took effect.

use std::collections::BTreeMap;

use crate::train::event::{EpochInfo, StepInfo};

/// Weight of the past in the smoothed loss (TensorBoard's default slider position).
const SMOOTHING: f64 = 0.9;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub train_loss: Vec<(f64, f64)>,
    pub smoothed_loss: Vec<(f64, f64)>,
    pub val_loss: Vec<(f64, f64)>,
    /// In percent.
    pub train_acc: Vec<(f64, f64)>,
    pub val_acc: Vec<(f64, f64)>,
    /// Effective learning rate of each group at each step.
    pub lr: BTreeMap<String, Vec<(f64, f64)>>,
    /// Steps where a command took effect, and the command's text.
    pub marks: Vec<(u64, String)>,
}

impl History {
    pub fn push_step(&mut self, step: u64, s: &StepInfo) {
        let x = step as f64;
        let smooth = match self.smoothed_loss.last() {
            Some(&(_, prev)) if s.loss.is_finite() => SMOOTHING * prev + (1.0 - SMOOTHING) * s.loss,
            Some(&(_, prev)) => prev,
            None => s.loss,
        };
        self.train_loss.push((x, s.loss));
        self.smoothed_loss.push((x, smooth));
        for (group, lr) in &s.lr {
            self.lr.entry(group.clone()).or_default().push((x, *lr));
        }
    }

    pub fn push_epoch(&mut self, step: u64, e: &EpochInfo) {
        let x = step as f64;
        self.val_loss.push((x, e.val.loss));
        self.train_acc.push((x, e.train_accuracy * 100.0));
        self.val_acc.push((x, e.val.accuracy * 100.0));
    }

    pub fn mark(&mut self, step: u64, text: String) {
        self.marks.push((step, text));
    }
}

/// The points of `series` with x in `[from, to]`, at most about `max` of them: longer runs
/// are thinned to bucket means so a frame costs the same at step 100 and step 100,000.
pub fn window(series: &[(f64, f64)], from: f64, to: f64, max: usize) -> Vec<(f64, f64)> {
    let start = series.partition_point(|p| p.0 < from);
    let end = series.partition_point(|p| p.0 <= to);
    let points = &series[start..end.max(start)];
    let max = max.max(2);
    if points.len() <= max {
        return points.to_vec();
    }
    let per = points.len().div_ceil(max);
    points
        .chunks(per)
        .map(|c| {
            let n = c.len() as f64;
            let (sx, sy) = c.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
            (sx / n, sy / n)
        })
        .collect()
}

/// The y range of the given series with a little room; `None` when there are no finite points.
pub fn y_bounds<'a>(series: impl IntoIterator<Item = &'a [(f64, f64)]>) -> Option<[f64; 2]> {
    let (lo, hi) = series
        .into_iter()
        .flatten()
        .map(|p| p.1)
        .filter(|y| y.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if lo > hi {
        return None;
    }
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-3).max(1e-12);
    // Room below, but never below zero for figures that cannot be negative (losses).
    let low = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
    Some([low, hi + pad])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_cuts_and_thins_without_losing_the_shape() {
        let series: Vec<(f64, f64)> = (1..=1000).map(|i| (i as f64, i as f64 * 2.0)).collect();
        let recent = window(&series, 801.0, 1000.0, 1000);
        assert_eq!(recent.len(), 200);
        assert_eq!(recent[0], (801.0, 1602.0));
        let thin = window(&series, 0.0, 1000.0, 100);
        assert_eq!(thin.len(), 100);
        assert_eq!(thin[0], (5.5, 11.0), "bucket means");
        assert!(window(&series, 2000.0, 3000.0, 10).is_empty());
    }

    #[test]
    fn smoothing_follows_the_raw_loss_and_skips_nan() {
        let mut h = History::default();
        let step = |loss| StepInfo {
            loss,
            lr: [("head".to_string(), 1e-3)].into(),
            grad_norm: 1.0,
            loss_scale: None,
            images_per_second: 10.0,
            data_wait_ms: 1.0,
            step_ms: 10.0,
        };
        h.push_step(1, &step(2.0));
        h.push_step(2, &step(1.0));
        h.push_step(3, &step(f64::NAN));
        assert_eq!(h.smoothed_loss[0].1, 2.0);
        assert!((h.smoothed_loss[1].1 - 1.9).abs() < 1e-12);
        assert_eq!(h.smoothed_loss[2].1, h.smoothed_loss[1].1);
        assert_eq!(h.lr["head"].len(), 3);
        let [lo, hi] = y_bounds([h.train_loss.as_slice()]).unwrap();
        assert!((0.0..1.0).contains(&lo) && hi > 2.0, "{lo} {hi}");
        assert_eq!(y_bounds([[(0.0, -1.0), (1.0, 1.0)].as_slice()]).unwrap()[0], -1.1);
        assert_eq!(y_bounds([[(0.0, f64::NAN)].as_slice()]), None);
    }
}
