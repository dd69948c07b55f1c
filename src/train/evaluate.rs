//! Evaluation over a split: loss, accuracy, top-5, F1, confusion matrix.

use burn::prelude::*;

use super::loss::cross_entropy;
use super::metrics::{EvalAccumulator, EvalMetrics};
use crate::data::Loader;
use crate::model::ResNet;

/// Runs `model` (inference mode: running BatchNorm statistics, no dropout) over every batch.
/// The loss is plain cross-entropy, so it compares across loss settings.
pub fn evaluate<B: Backend>(model: &ResNet<B>, loader: &Loader, size: usize, classes: usize) -> EvalMetrics {
    let device = model.fc.weight.device();
    let mut acc = EvalAccumulator::new(classes);
    let folded = model.folded();
    for batch in loader.epoch(0) {
        let n = batch.labels.len();
        if n == 0 {
            continue;
        }
        let x = Tensor::<B, 4>::from_data(TensorData::new(batch.images, [n, 3, size, size]), &device);
        let targets: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
        let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [n]), &device);
        let logits = model.forward_folded(&folded, x);
        let loss = cross_entropy(logits.clone(), targets, None, 0.0);
        let loss_sum = loss.into_scalar().elem::<f64>() * n as f64;
        let logits = logits
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap_or_default();
        acc.add_batch(&logits, classes, &batch.labels, loss_sum);
    }
    acc.finish()
}
