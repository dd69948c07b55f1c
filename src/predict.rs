//! Forward passes for `kiln predict`: logits, softmax probabilities and the top classes.

use burn::prelude::*;

use crate::model::ResNet;

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

/// Runs `images` (`n` images, each CHW with side `size`, already normalised) through the model.
pub fn predict<B: Backend>(model: &ResNet<B>, images: Vec<f32>, n: usize, size: usize) -> Vec<Prediction> {
    let device = model.fc.weight.device();
    let input = Tensor::<B, 4>::from_data(TensorData::new(images, [n, 3, size, size]), &device);
    let logits = model.forward(input);
    let classes = logits.dims()[1];
    let values = logits
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("logits convert to f32");
    values
        .chunks(classes)
        .map(|row| Prediction::from_logits(row.to_vec()))
        .collect()
}
