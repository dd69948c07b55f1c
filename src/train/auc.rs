//! ROC AUC: the chance that a random positive scores above a random negative, ties counting
//! half. That is the Mann-Whitney U statistic over the pair counts, and equals the area under
//! sklearn's ROC curve. Macro AUC averages it over the classes (one-vs-rest) or labels.

/// Scores above this many values (samples × classes, 64 MB of f32) are not kept: an AUC over
/// an ImageNet-sized split of 1000 classes would cost more memory than it is worth.
pub const MAX_VALUES: usize = 16 << 20;

/// Why `train.early_stop_metric = "val_auc"` cannot work on a validation split of `images`
/// whose classes (or labels) have these image counts, if it cannot.
pub fn check_defined(images: usize, counts: &[usize]) -> Result<(), String> {
    let setting = "train.early_stop_metric = \"val_auc\"";
    let instead = "watch val_f1 or val_loss instead";
    if images * counts.len() > MAX_VALUES {
        return Err(format!(
            "{setting}: {images} validation images x {} classes are more scores than kiln keeps for an AUC ({MAX_VALUES}); {instead}",
            counts.len()
        ));
    }
    if !counts.iter().any(|&c| c > 0 && c < images) {
        return Err(format!(
            "{setting}: no class has both images of its own and images of others in the validation split ({images} images), so there is no AUC to watch; give validation more classes, or {instead}"
        ));
    }
    Ok(())
}

/// The AUC of `scores` against `positive`; `None` without at least one of each.
pub fn roc_auc(scores: &[f32], positive: &[bool]) -> Option<f64> {
    let n = scores.len().min(positive.len());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // The positives' rank sum, a run of equal scores sharing its mean rank (1-based).
    let (mut rank_sum, mut positives) = (0.0, 0u64);
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end + 1) as f64 / 2.0;
        let in_run = order[start..end].iter().filter(|&&i| positive[i]).count() as u64;
        rank_sum += mean_rank * in_run as f64;
        positives += in_run;
        start = end;
    }
    let negatives = n as u64 - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (p, q) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

/// Each sample's score per column (class probability or label logit) and whether the column is
/// its truth, kept for the macro AUC at the end of an evaluation, within [`MAX_VALUES`].
#[derive(Debug, Clone)]
pub struct Scores {
    columns: usize,
    values: Vec<f32>,
    truth: Vec<bool>,
    /// More values came than are kept: there is no AUC for this evaluation.
    over_budget: bool,
}

impl Scores {
    pub fn new(columns: usize) -> Self {
        Scores {
            columns,
            values: Vec::new(),
            truth: Vec::new(),
            over_budget: false,
        }
    }

    /// Whether more scores came than are kept, so later ones need not be computed.
    pub fn over_budget(&self) -> bool {
        self.over_budget
    }

    /// One sample: its `columns` scores and which of them are true.
    pub fn push(&mut self, scores: &[f32], truth: impl IntoIterator<Item = bool>) {
        if self.over_budget {
            return;
        }
        if self.values.len() + self.columns > MAX_VALUES {
            self.over_budget = true;
            self.values = Vec::new();
            self.truth = Vec::new();
            return;
        }
        self.values.extend_from_slice(&scores[..self.columns]);
        self.truth.extend(truth.into_iter().take(self.columns));
    }

    /// The mean AUC over the columns that have positives and negatives; `None` when none has
    /// both, or when the scores were too many to keep.
    pub fn macro_auc(&self) -> Option<f64> {
        if self.over_budget || self.columns == 0 {
            return None;
        }
        let rows = self.values.len() / self.columns;
        let column = |j: usize| -> (Vec<f32>, Vec<bool>) {
            (0..rows)
                .map(|r| (self.values[r * self.columns + j], self.truth[r * self.columns + j]))
                .unzip()
        };
        let aucs: Vec<f64> = (0..self.columns)
            .filter_map(|j| {
                let (scores, truth) = column(j);
                roc_auc(&scores, &truth)
            })
            .collect();
        (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ordered_pairs_and_ties_count_half() {
        // Positives 0.9 and 0.4 against negatives 0.5 and 0.1: 3 of 4 pairs ordered right.
        let auc = roc_auc(&[0.9, 0.5, 0.4, 0.1], &[true, false, true, false]);
        assert_eq!(auc, Some(0.75));
        assert_eq!(roc_auc(&[0.2, 0.8], &[false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.2, 0.8], &[true, false]), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.7], &[true, true]), None, "no negative");
        assert_eq!(roc_auc(&[], &[]), None);
    }

    #[test]
    fn val_auc_needs_a_class_with_both_kinds_within_the_budget() {
        assert_eq!(check_defined(10, &[4, 6]), Ok(()));
        let err = check_defined(10, &[0, 10, 0]).unwrap_err();
        assert!(err.contains("no class has both"), "{err}");
        assert!(check_defined(0, &[0, 0]).is_err());
        let err = check_defined(MAX_VALUES / 1000 + 1, &[1; 1000]).unwrap_err();
        assert!(err.contains("more scores than kiln keeps"), "{err}");
    }

    #[test]
    fn macro_auc_skips_columns_without_both_kinds_and_gives_up_over_budget() {
        let mut s = Scores::new(2);
        // Column 0 is perfectly ranked; column 1 is never true, so it has no AUC.
        s.push(&[0.9, 0.3], [true, false]);
        s.push(&[0.1, 0.8], [false, false]);
        assert_eq!(s.macro_auc(), Some(1.0));
        assert_eq!(Scores::new(3).macro_auc(), None);
        let mut wide = Scores::new(MAX_VALUES / 2 + 1);
        let row = vec![0.5; MAX_VALUES / 2 + 1];
        wide.push(&row, (0..row.len()).map(|j| j == 0));
        assert!(!wide.over_budget);
        wide.push(&row, (0..row.len()).map(|j| j == 1));
        assert!(wide.over_budget && wide.values.is_empty());
        assert_eq!(wide.macro_auc(), None);
    }
}
