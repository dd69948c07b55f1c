//! Multi-label metrics: a label counts as predicted when its logit is above 0 (sigmoid 0.5).
//! Exact-match accuracy, label accuracy, per-label precision / recall / F1 and their macro
//! mean, with undefined ratios counted as 0 (sklearn's `zero_division=0`).

use super::auc::Scores;
use super::metrics::{EvalMetrics, ratio};

#[derive(Debug, Clone)]
pub struct MultiLabelAccumulator {
    tp: Vec<u64>,
    fp: Vec<u64>,
    fn_: Vec<u64>,
    exact: u64,
    right_labels: u64,
    samples: u64,
    loss_sum: f64,
    scores: Scores,
}

impl MultiLabelAccumulator {
    pub fn new(labels: usize) -> Self {
        MultiLabelAccumulator {
            tp: vec![0; labels],
            fp: vec![0; labels],
            fn_: vec![0; labels],
            exact: 0,
            right_labels: 0,
            samples: 0,
            loss_sum: 0.0,
            scores: Scores::new(labels),
        }
    }

    /// Adds a batch: `logits` and `targets` (multi-hot) row-major `[n, labels]`, `loss_sum` the
    /// batch's mean loss times its size. A batch of another width is the caller's bug and only
    /// adds its loss.
    pub fn add_batch(&mut self, logits: &[f32], targets: &[f32], loss_sum: f64) {
        self.loss_sum += loss_sum;
        let labels = self.tp.len();
        if labels == 0 || logits.len() != targets.len() {
            return;
        }
        for (row, truth) in logits.chunks_exact(labels).zip(targets.chunks_exact(labels)) {
            // A label's AUC ranks its logits: the sigmoid would not change their order.
            self.scores.push(row, truth.iter().map(|&t| t > 0.5));
            let mut all_right = true;
            for (c, (&logit, &t)) in row.iter().zip(truth).enumerate() {
                let (predicted, present) = (logit > 0.0, t > 0.5);
                match (predicted, present) {
                    (true, true) => self.tp[c] += 1,
                    (true, false) => self.fp[c] += 1,
                    (false, true) => self.fn_[c] += 1,
                    (false, false) => {}
                }
                if predicted == present {
                    self.right_labels += 1;
                } else {
                    all_right = false;
                }
            }
            self.exact += u64::from(all_right);
            self.samples += 1;
        }
    }

    pub fn finish(&self) -> EvalMetrics {
        let labels = self.tp.len();
        let per_label = |f: &dyn Fn(usize) -> f64| (0..labels).map(f).collect::<Vec<f64>>();
        let precision = per_label(&|c| ratio(self.tp[c], self.tp[c] + self.fp[c]));
        let recall = per_label(&|c| ratio(self.tp[c], self.tp[c] + self.fn_[c]));
        let f1 = per_label(&|c| ratio(2 * self.tp[c], 2 * self.tp[c] + self.fp[c] + self.fn_[c]));
        let n = self.samples;
        EvalMetrics {
            loss: if n == 0 { 0.0 } else { self.loss_sum / n as f64 },
            accuracy: ratio(self.exact, n),
            top5: None,
            label_accuracy: Some(ratio(self.right_labels, n * labels as u64)),
            f1_macro: if labels == 0 {
                0.0
            } else {
                f1.iter().sum::<f64>() / labels as f64
            },
            auc: self.scores.macro_auc(),
            precision,
            recall,
            f1,
            confusion: Vec::new(),
            support: (0..labels).map(|c| self.tp[c] + self.fn_[c]).collect(),
            samples: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_three_labels() {
        let mut acc = MultiLabelAccumulator::new(3);
        // Truth, then logits: right, one label missed, one label extra.
        let targets = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let logits = [2.0, -1.0, 0.5, -3.0, 1.0, -0.1, 0.2, -2.0, -2.0];
        acc.add_batch(&logits[..6], &targets[..6], 1.0);
        acc.add_batch(&logits[6..], &targets[6..], 0.5);
        let m = acc.finish();
        assert_eq!(m.samples, 3);
        assert!((m.loss - 0.5).abs() < 1e-12);
        assert!((m.accuracy - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.label_accuracy.unwrap() - 7.0 / 9.0).abs() < 1e-12);
        // Label 0: tp 1, fp 1; label 1: tp 1; label 2: tp 1, fn 1.
        assert_eq!(m.precision, [0.5, 1.0, 1.0]);
        assert_eq!(m.recall, [1.0, 1.0, 0.5]);
        assert_eq!(m.support, [1, 1, 2]);
        let f1 = [2.0 / 3.0, 1.0, 2.0 / 3.0];
        assert!((m.f1_macro - f1.iter().sum::<f64>() / 3.0).abs() < 1e-12);
        assert!(m.top5.is_none() && m.confusion.is_empty());
    }

    #[test]
    fn matches_sklearn_and_pytorch() {
        use burn::prelude::*;

        use crate::backend::Cpu;
        use crate::train::loss::bce_with_logits;

        #[derive(serde::Deserialize)]
        struct Fixture {
            labels: usize,
            targets: Vec<Vec<f32>>,
            logits: Vec<Vec<f32>>,
            loss: f64,
            accuracy: f64,
            label_accuracy: f64,
            precision: Vec<f64>,
            recall: Vec<f64>,
            f1: Vec<f64>,
            f1_macro: f64,
            auc: f64,
        }
        let f: Fixture =
            serde_json::from_str(include_str!("../../tests/fixtures/train/multi_label_metrics.json")).unwrap();
        let mut acc = MultiLabelAccumulator::new(f.labels);
        // Two uneven batches, each with its loss as evaluation computes it.
        let cut = 11;
        for (logits, targets) in [
            (&f.logits[..cut], &f.targets[..cut]),
            (&f.logits[cut..], &f.targets[cut..]),
        ] {
            let (logits, targets) = (logits.concat(), targets.concat());
            let n = logits.len() / f.labels;
            let tensor = |v: &[f32]| {
                Tensor::<Cpu, 2>::from_data(TensorData::new(v.to_vec(), [n, f.labels]), &Default::default())
            };
            let loss = bce_with_logits(tensor(&logits), tensor(&targets))
                .into_scalar()
                .elem::<f64>();
            acc.add_batch(&logits, &targets, loss * n as f64);
        }
        let m = acc.finish();
        let close = |a: f64, b: f64, tol: f64| (a - b).abs() < tol;
        assert!(close(m.loss, f.loss, 1e-6), "{} {}", m.loss, f.loss);
        assert!(close(m.accuracy, f.accuracy, 1e-12), "{} {}", m.accuracy, f.accuracy);
        assert!(close(m.label_accuracy.unwrap(), f.label_accuracy, 1e-12));
        assert!(close(m.f1_macro, f.f1_macro, 1e-12), "{} {}", m.f1_macro, f.f1_macro);
        // Label 4 is never present: the mean is over the other four, as the fixture's.
        assert!(close(m.auc.unwrap(), f.auc, 1e-12), "{:?} {}", m.auc, f.auc);
        for (got, want) in [(&m.precision, &f.precision), (&m.recall, &f.recall), (&m.f1, &f.f1)] {
            assert!(
                got.iter().zip(want).all(|(a, b)| close(*a, *b, 1e-12)),
                "{got:?} vs {want:?}"
            );
        }
        assert_eq!(m.recall[4], 0.0, "the fixture has a label that is never present");
    }
}
