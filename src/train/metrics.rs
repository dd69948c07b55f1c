//! Classification metrics over a split: accuracy, top-5, per-class precision / recall / F1,
//! macro F1, macro one-vs-rest ROC AUC and the confusion matrix. Plain Rust; the evaluator
//! feeds it logits batch by batch.
//!
//! Undefined ratios (no predictions of a class, no samples of a class) count as 0, as sklearn
//! does with `zero_division=0`; macro F1 averages over every class, present or not.

use serde::{Deserialize, Serialize};

use super::auc::Scores;
use crate::config::EarlyStopMetric;
use crate::predict::softmax;

/// A confusion matrix: row = true class, column = predicted class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    n: usize,
    counts: Vec<u64>,
}

impl Confusion {
    pub fn new(classes: usize) -> Confusion {
        Confusion {
            n: classes,
            counts: vec![0; classes * classes],
        }
    }

    pub fn classes(&self) -> usize {
        self.n
    }

    /// Counts one sample. Out-of-range classes are ignored (the caller's bug, not worth a
    /// panic in the middle of a run).
    pub fn add(&mut self, truth: usize, pred: usize) {
        if truth < self.n && pred < self.n {
            self.counts[truth * self.n + pred] += 1;
        }
    }

    pub fn get(&self, truth: usize, pred: usize) -> u64 {
        self.counts[truth * self.n + pred]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn correct(&self) -> u64 {
        (0..self.n).map(|i| self.get(i, i)).sum()
    }

    fn row_sum(&self, truth: usize) -> u64 {
        (0..self.n).map(|p| self.get(truth, p)).sum()
    }

    fn col_sum(&self, pred: usize) -> u64 {
        (0..self.n).map(|t| self.get(t, pred)).sum()
    }

    /// Fraction of samples on the diagonal; 0 when empty.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// TP / (TP + FP) per class.
    pub fn precision(&self) -> Vec<f64> {
        (0..self.n).map(|c| ratio(self.get(c, c), self.col_sum(c))).collect()
    }

    /// TP / (TP + FN) per class.
    pub fn recall(&self) -> Vec<f64> {
        (0..self.n).map(|c| ratio(self.get(c, c), self.row_sum(c))).collect()
    }

    /// 2 TP / (2 TP + FP + FN) per class (the harmonic mean of precision and recall).
    pub fn f1(&self) -> Vec<f64> {
        (0..self.n)
            .map(|c| {
                let tp = self.get(c, c);
                ratio(2 * tp, self.row_sum(c) + self.col_sum(c))
            })
            .collect()
    }

    /// Unweighted mean of the per-class F1.
    pub fn f1_macro(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        self.f1().iter().sum::<f64>() / self.n as f64
    }

    /// The matrix as rows.
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts.chunks(self.n.max(1)).map(<[u64]>::to_vec).collect()
    }
}

pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// Everything an evaluation reports; goes into events, metrics.csv and summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// Mean loss per sample.
    #[serde(deserialize_with = "super::event::nan_if_null")]
    pub loss: f64,
    /// Single-label: the top class is the label. Multi-label: every label is predicted right
    /// (exact match, a logit above 0 meaning "present").
    pub accuracy: f64,
    /// The label is among the 5 largest logits (single-label runs of more than 5 classes; with
    /// 5 or fewer it could never miss, so it is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top5: Option<f64>,
    /// Fraction of (image, label) pairs predicted right (multi-label runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_accuracy: Option<f64>,
    pub f1_macro: f64,
    /// Macro ROC AUC: one-vs-rest over the classes' softmax probabilities (multi-label: over the
    /// labels' logits), averaged over the classes that have images and images without them.
    /// Absent when no class has both, or the split is too large to keep every score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub f1: Vec<f64>,
    /// Row = true class, column = predicted; empty for multi-label runs.
    pub confusion: Vec<Vec<u64>>,
    /// Images of each class (multi-label: images carrying each label).
    #[serde(default)]
    pub support: Vec<u64>,
    /// Samples evaluated; every metric is 0 when this is 0.
    pub samples: u64,
}

impl EvalMetrics {
    /// The figure shown beside accuracy: top-5 (single-label, over 5 classes) or label
    /// accuracy (multi-label); none for a single-label run of 5 classes or fewer.
    pub fn second_figure(&self) -> Option<(&'static str, f64)> {
        match (self.label_accuracy, self.top5) {
            (Some(a), _) => Some(("label acc", a)),
            (None, Some(t)) => Some(("top-5", t)),
            (None, None) => None,
        }
    }
}

/// Collects batches of logits and labels into `EvalMetrics`.
#[derive(Debug, Clone)]
pub struct EvalAccumulator {
    confusion: Confusion,
    top5_hits: u64,
    loss_sum: f64,
    scores: Scores,
}

impl EvalAccumulator {
    pub fn new(classes: usize) -> EvalAccumulator {
        EvalAccumulator {
            confusion: Confusion::new(classes),
            top5_hits: 0,
            loss_sum: 0.0,
            scores: Scores::new(classes),
        }
    }

    /// Adds a batch: `logits` row-major `[labels.len(), classes]`, `loss_sum` the batch's loss
    /// summed over its samples (mean loss x batch size). Rows beyond the shorter of the two
    /// inputs are ignored; a `classes` different from the accumulator's is the caller's bug
    /// and skips the batch's predictions.
    pub fn add_batch(&mut self, logits: &[f32], classes: usize, labels: &[usize], loss_sum: f64) {
        self.loss_sum += loss_sum;
        if classes == 0 || classes != self.confusion.classes() {
            return;
        }
        for (row, &label) in logits.chunks_exact(classes).zip(labels) {
            if !self.scores.over_budget() {
                self.scores.push(&softmax(row), (0..classes).map(|c| c == label));
            }
            let pred = argmax(row);
            self.confusion.add(label, pred);
            // Within the top k when fewer than k logits beat the label's (ties count for it).
            if let Some(&own) = row.get(label) {
                let above = row.iter().filter(|&&x| x > own).count();
                if above < 5 {
                    self.top5_hits += 1;
                }
            }
        }
    }

    pub fn confusion(&self) -> &Confusion {
        &self.confusion
    }

    pub fn finish(&self) -> EvalMetrics {
        let c = &self.confusion;
        let n = c.total();
        EvalMetrics {
            loss: if n == 0 { 0.0 } else { self.loss_sum / n as f64 },
            accuracy: c.accuracy(),
            top5: (c.classes() > 5).then(|| ratio(self.top5_hits, n)),
            label_accuracy: None,
            f1_macro: c.f1_macro(),
            auc: self.scores.macro_auc(),
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            confusion: c.rows(),
            support: (0..c.classes()).map(|t| c.row_sum(t)).collect(),
            samples: n,
        }
    }
}

/// Index of the first largest value (NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if x > row[best] || (row[best].is_nan() && !x.is_nan()) {
            best = i;
        }
    }
    best
}

impl EarlyStopMetric {
    /// This metric's value in an evaluation.
    pub fn value(self, m: &EvalMetrics) -> f64 {
        match self {
            EarlyStopMetric::ValLoss => m.loss,
            EarlyStopMetric::ValAccuracy => m.accuracy,
            EarlyStopMetric::ValF1 => m.f1_macro,
            // Setup refuses val_auc where the validation split can have no AUC
            // (`auc::check_defined`); chance level is the fallback all the same.
            EarlyStopMetric::ValAuc => m.auc.unwrap_or(0.5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_three_classes() {
        // truth -> pred: 0->0, 0->0, 0->1, 1->1, 1->2, 2->2, 2->2, 2->0
        let mut c = Confusion::new(3);
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 2), (2, 0)] {
            c.add(t, p);
        }
        assert_eq!(c.rows(), vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 0, 2]]);
        assert_eq!(c.accuracy(), 5.0 / 8.0);
        assert_eq!(c.precision(), vec![2.0 / 3.0, 1.0 / 2.0, 2.0 / 3.0]);
        assert_eq!(c.recall(), vec![2.0 / 3.0, 1.0 / 2.0, 2.0 / 3.0]);
        let f1 = c.f1();
        assert!((f1[1] - 0.5).abs() < 1e-15);
        assert!((c.f1_macro() - (2.0 / 3.0 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-15);
    }

    #[test]
    fn undefined_ratios_are_zero() {
        let mut c = Confusion::new(3);
        c.add(0, 0);
        c.add(1, 0);
        // Class 1 never predicted, class 2 neither present nor predicted.
        assert_eq!(c.precision(), vec![0.5, 0.0, 0.0]);
        assert_eq!(c.recall(), vec![1.0, 0.0, 0.0]);
        assert!((c.f1_macro() - (2.0 / 3.0) / 3.0).abs() < 1e-15);
        let empty = EvalAccumulator::new(4).finish();
        assert_eq!(
            (empty.samples, empty.accuracy, empty.loss, empty.f1_macro),
            (0, 0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn accumulator_counts_top5_and_mean_loss() {
        let mut acc = EvalAccumulator::new(6);
        // Row 0: label 5 is the 6th largest -> miss; row 1: label 5 is the 5th largest -> hit;
        // row 2: label 2 is top-1.
        let logits = [
            6.0, 5.0, 4.0, 3.0, 2.0, 1.0, //
            1.0, 6.0, 5.0, 4.0, 3.0, 2.0, //
            0.0, 0.0, 9.0, 0.0, 0.0, 0.0,
        ];
        acc.add_batch(&logits, 6, &[5, 5, 2], 3.0);
        acc.add_batch(&[0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 6, &[1], 1.0);
        let m = acc.finish();
        assert_eq!(m.samples, 4);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.top5, Some(0.75));
        assert_eq!(m.loss, 1.0);
        // With 5 classes or fewer the label is always among the top 5: no figure at all.
        let mut acc = EvalAccumulator::new(5);
        acc.add_batch(&[5.0, 4.0, 3.0, 2.0, 1.0], 5, &[4], 0.0);
        assert_eq!(acc.finish().top5, None);
        assert_eq!(acc.finish().second_figure(), None);
    }

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 0.5, 0.2]), 1);
    }

    #[test]
    fn matches_sklearn() {
        #[derive(serde::Deserialize)]
        struct Fixture {
            classes: usize,
            labels: Vec<usize>,
            logits: Vec<Vec<f32>>,
            accuracy: f64,
            top5: f64,
            precision: Vec<f64>,
            recall: Vec<f64>,
            f1: Vec<f64>,
            f1_macro: f64,
            confusion: Vec<Vec<u64>>,
            auc: f64,
            binary: Binary,
        }
        #[derive(serde::Deserialize)]
        struct Binary {
            labels: Vec<usize>,
            logits: Vec<Vec<f32>>,
            auc: f64,
        }
        let f: Fixture = serde_json::from_str(include_str!("../../tests/fixtures/train/metrics.json")).unwrap();
        let mut acc = EvalAccumulator::new(f.classes);
        // Two uneven batches.
        let flat: Vec<f32> = f.logits.concat();
        let cut = 13;
        acc.add_batch(&flat[..cut * f.classes], f.classes, &f.labels[..cut], 0.0);
        acc.add_batch(&flat[cut * f.classes..], f.classes, &f.labels[cut..], 0.0);
        let m = acc.finish();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(m.confusion, f.confusion);
        assert!(close(m.accuracy, f.accuracy), "{} {}", m.accuracy, f.accuracy);
        assert!(close(m.top5.unwrap(), f.top5), "{:?} {}", m.top5, f.top5);
        assert!(close(m.f1_macro, f.f1_macro), "{} {}", m.f1_macro, f.f1_macro);
        // Probabilities are f32 here and f64 in sklearn: equal ranks, so an equal AUC.
        assert!(close(m.auc.unwrap(), f.auc), "{:?} {}", m.auc, f.auc);
        let mut binary = EvalAccumulator::new(2);
        binary.add_batch(&f.binary.logits.concat(), 2, &f.binary.labels, 0.0);
        let auc = binary.finish().auc.unwrap();
        assert!(close(auc, f.binary.auc), "{auc} {}", f.binary.auc);
        for (got, want) in [(&m.precision, &f.precision), (&m.recall, &f.recall), (&m.f1, &f.f1)] {
            assert_eq!(got.len(), want.len());
            assert!(got.iter().zip(want).all(|(a, b)| close(*a, *b)), "{got:?} vs {want:?}");
        }
        assert_eq!(m.precision[6], 0.0, "the fixture has a never-predicted class");
    }

    #[test]
    fn early_stop_metric_reads_the_right_field() {
        let mut acc = EvalAccumulator::new(2);
        acc.add_batch(&[1.0, 0.0, 1.0, 0.0], 2, &[0, 1], 1.0);
        let m = acc.finish();
        assert_eq!(EarlyStopMetric::ValLoss.value(&m), 0.5);
        assert_eq!(EarlyStopMetric::ValAccuracy.value(&m), 0.5);
        assert_eq!(EarlyStopMetric::ValF1.value(&m), m.f1_macro);
        // Both images score alike: chance.
        assert_eq!(EarlyStopMetric::ValAuc.value(&m), 0.5);
        let mut ranked = EvalAccumulator::new(2);
        ranked.add_batch(&[2.0, 0.0, 1.0, 0.0], 2, &[0, 1], 1.0);
        assert_eq!(EarlyStopMetric::ValAuc.value(&ranked.finish()), 1.0);
    }
}
