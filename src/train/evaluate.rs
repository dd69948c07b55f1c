//! Evaluation over a split: loss, accuracy, top-5, F1, confusion matrix.

use burn::prelude::*;

use super::feature_cache::FeatureCache;
use super::loss::cross_entropy;
use super::metrics::{EvalAccumulator, EvalMetrics};
use crate::data::Loader;
use crate::model::ResNet;

/// Runs `model` (inference mode: running BatchNorm statistics, no dropout) over every batch.
/// The loss is plain cross-entropy, so it compares across loss settings.
pub fn evaluate<B: Backend>(model: &ResNet<B>, loader: &Loader, size: usize, classes: usize) -> EvalMetrics {
    let mut acc = EvalAccumulator::new(classes);
    let folded = model.folded();
    for batch in loader.epoch(0) {
        if let Some(images) = images_of::<B>(model, batch.images, batch.labels.len(), size) {
            add(&mut acc, model.forward_folded(&folded, images), &batch.labels, classes);
        }
    }
    acc.finish()
}

/// [`evaluate`] through a cache of backbone features, for a model whose backbone is frozen:
/// the first call fills the cache, later ones run only the head. The caller drops the cache
/// when the backbone changes.
pub fn evaluate_cached<B: Backend>(
    model: &ResNet<B>,
    loader: &Loader,
    size: usize,
    classes: usize,
    cache: &mut FeatureCache,
) -> EvalMetrics {
    let mut acc = EvalAccumulator::new(classes);
    let device = model.fc.weight.device();
    if cache.is_complete() {
        for indices in loader.epoch_batches(0) {
            if let Some((labels, features)) = cache.batch(&indices, loader.samples()) {
                add(
                    &mut acc,
                    model.head(Tensor::from_data(features, &device)),
                    &labels,
                    classes,
                );
            }
        }
        return acc.finish();
    }
    let folded = model.folded();
    for batch in loader.epoch(0) {
        let Some(images) = images_of::<B>(model, batch.images, batch.labels.len(), size) else {
            continue;
        };
        let features = model.features_folded(&folded, images);
        if let Ok(values) = features.to_data().convert::<f32>().into_vec::<f32>() {
            cache.put(&batch.indices, &values);
        }
        add(&mut acc, model.head(features), &batch.labels, classes);
    }
    cache.mark_complete();
    acc.finish()
}

fn images_of<B: Backend>(model: &ResNet<B>, images: Vec<f32>, n: usize, size: usize) -> Option<Tensor<B, 4>> {
    (n > 0).then(|| Tensor::from_data(TensorData::new(images, [n, 3, size, size]), &model.fc.weight.device()))
}

fn add<B: Backend>(acc: &mut EvalAccumulator, logits: Tensor<B, 2>, labels: &[usize], classes: usize) {
    let n = labels.len();
    let device = logits.device();
    let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [n]), &device);
    let loss = cross_entropy(logits.clone(), targets, None, 0.0);
    let loss_sum = loss.into_scalar().elem::<f64>() * n as f64;
    let logits = logits
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default();
    acc.add_batch(&logits, classes, labels, loss_sum);
}
