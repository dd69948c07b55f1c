//! Forward passes for `kiln predict`: logits, softmax probabilities (or, for a multi-label
//! model, one sigmoid per label) and the top classes.

use burn::prelude::*;

use crate::backend::KilnBackend;
use crate::model::{FoldedPrefix, ResNet};

/// One image's output, in the numbers PyTorch would print for the same model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
}

impl Prediction {
    pub fn from_logits(logits: Vec<f32>) -> Self {
        let probabilities = softmax(&logits);
        Self { logits, probabilities }
    }

    /// For a model trained on multi-label data: each label's own probability, a sigmoid of its
    /// logit (above 0.5 = present, as in training).
    pub fn from_multi_label_logits(logits: Vec<f32>) -> Self {
        let probabilities = logits
            .iter()
            .map(|&l| (1.0 / (1.0 + (-(l as f64)).exp())) as f32)
            .collect();
        Self { logits, probabilities }
    }

    /// The `k` most probable classes, best first.
    pub fn top(&self, k: usize) -> Vec<(usize, f32)> {
        let mut ranked: Vec<(usize, f32)> = self.probabilities.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(k);
        ranked
    }
}

/// Softmax computed in f64 after subtracting the maximum, so large logits cannot overflow.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Runs `images` (`n` images, each CHW with side `size`, already normalised) through the model,
/// its backbone as `folded` (from [`ResNet::folded`], made once for all batches).
pub fn predict<B: KilnBackend>(
    model: &ResNet<B>,
    folded: &FoldedPrefix<B>,
    images: Vec<f32>,
    n: usize,
    size: usize,
    multi_label: bool,
) -> Vec<Prediction> {
    let device = model.fc.weight.device();
    let input = Tensor::<B, 4>::from_data(TensorData::new(images, [n, 3, size, size]), &device);
    let logits = model.forward_folded(folded, input);
    let classes = logits.dims()[1];
    let values = logits
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("logits convert to f32");
    values
        .chunks(classes)
        .map(|row| match multi_label {
            true => Prediction::from_multi_label_logits(row.to_vec()),
            false => Prediction::from_logits(row.to_vec()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_label_probabilities_are_independent_sigmoids() {
        let p = Prediction::from_multi_label_logits(vec![0.0, 2.0, -3.0]);
        let want = [0.5, 0.880_797, 0.047_425_87];
        assert!(
            p.probabilities.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{p:?}"
        );
        assert_eq!(p.top(2).iter().map(|t| t.0).collect::<Vec<_>>(), [1, 0]);
        let single = Prediction::from_logits(vec![0.0, 2.0, -3.0]);
        assert!((single.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
