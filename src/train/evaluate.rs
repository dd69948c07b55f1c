//! Evaluation over a split: loss, accuracy, top-5 (or label accuracy), F1, confusion matrix.

use burn::prelude::*;

use super::feature_cache::FeatureCache;
use super::loss::{bce_with_logits, cross_entropy};
use super::metrics::{EvalAccumulator, EvalMetrics};
use super::multi_label_metrics::MultiLabelAccumulator;
use crate::backend::KilnBackend;
use crate::data::{Loader, MultiLabels, Skipped};
use crate::model::ResNet;

/// Runs `model` (inference mode: running BatchNorm statistics, no dropout) over every batch.
/// The loss is plain cross-entropy (multi-label: BCE), so it compares across loss settings.
///
/// With a `cache` of backbone features (a model whose backbone is frozen): the first call fills
/// it, later ones run only the head. The caller drops the cache when the backbone changes.
/// Returns the metrics and the images that could not be read (left out of them).
pub fn evaluate<B: KilnBackend>(
    model: &ResNet<B>,
    loader: &Loader,
    size: usize,
    classes: usize,
    multi: Option<&MultiLabels>,
    cache: Option<&mut FeatureCache>,
) -> (EvalMetrics, Vec<Skipped>) {
    evaluate_each(model, loader, size, classes, multi, cache, |_, _| {})
}

/// [`evaluate`], also handing each batch's logits (row-major, a row per image) to `each` with
/// the images' indices in `loader`: `kiln evaluate` lists the images it got wrong.
pub fn evaluate_each<B: KilnBackend>(
    model: &ResNet<B>,
    loader: &Loader,
    size: usize,
    classes: usize,
    multi: Option<&MultiLabels>,
    mut cache: Option<&mut FeatureCache>,
    mut each: impl FnMut(&[usize], &[f32]),
) -> (EvalMetrics, Vec<Skipped>) {
    let mut score = Score::new(classes, multi);
    if let Some(cache) = cache.as_deref().filter(|c| c.is_complete()) {
        let device = model.fc.weight.device();
        for indices in loader.epoch_batches(0) {
            if let Some((found, features)) = cache.batch(&indices) {
                score.add(
                    model.head(Tensor::from_data(features, &device)),
                    loader,
                    &found,
                    &mut each,
                );
            }
        }
        // Only readable images went into the cache; the unreadable were reported when it filled.
        return (score.finish(), Vec::new());
    }
    let folded = model.folded();
    let mut skipped = Vec::new();
    for batch in loader.epoch(0) {
        skipped.extend(batch.skipped);
        let Some(images) = images_of::<B>(model, batch.images, batch.indices.len(), size) else {
            continue;
        };
        let features = model.features_folded(&folded, images);
        // Features come back to the host only to fill a cache.
        if let Some(cache) = cache.as_deref_mut()
            && let Ok(values) = features.to_data().convert::<f32>().into_vec::<f32>()
        {
            cache.put(&batch.indices, &values);
        }
        score.add(model.head(features), loader, &batch.indices, &mut each);
    }
    if let Some(cache) = cache {
        cache.mark_complete();
    }
    (score.finish(), skipped)
}

fn images_of<B: Backend>(model: &ResNet<B>, images: Vec<f32>, n: usize, size: usize) -> Option<Tensor<B, 4>> {
    (n > 0).then(|| Tensor::from_data(TensorData::new(images, [n, 3, size, size]), &model.fc.weight.device()))
}

/// The metrics being collected: single-label or multi-label.
enum Score<'a> {
    Single(EvalAccumulator),
    Multi(MultiLabelAccumulator, &'a MultiLabels),
}

impl<'a> Score<'a> {
    fn new(classes: usize, multi: Option<&'a MultiLabels>) -> Self {
        match multi {
            Some(m) => Score::Multi(MultiLabelAccumulator::new(classes), m),
            None => Score::Single(EvalAccumulator::new(classes)),
        }
    }

    /// Scores the logits of `loader`'s samples `indices`. The targets are built on the host,
    /// where the metrics need them, and sent to the device once for the loss.
    fn add<B: Backend>(
        &mut self,
        logits: Tensor<B, 2>,
        loader: &Loader,
        indices: &[usize],
        each: &mut impl FnMut(&[usize], &[f32]),
    ) {
        let n = indices.len();
        let [_, classes] = logits.dims();
        let (device, samples) = (logits.device(), loader.samples());
        let values = logits
            .clone()
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap_or_default();
        each(indices, &values);
        match self {
            Score::Single(acc) => {
                let labels: Vec<usize> = indices.iter().map(|&i| samples[i].label).collect();
                let targets = labels.iter().map(|&l| l as i64).collect::<Vec<_>>();
                let targets = Tensor::from_data(TensorData::new(targets, [n]), &device);
                let loss = cross_entropy(logits.clone(), targets, None, 0.0);
                let loss_sum = loss.into_scalar().elem::<f64>() * n as f64;
                acc.add_batch(&values, classes, &labels, loss_sum);
            }
            Score::Multi(acc, multi) => {
                let rows = multi.multi_hot(indices.iter().map(|&i| samples[i].path.as_path()));
                let targets = Tensor::from_data(TensorData::new(rows.clone(), [n, classes]), &device);
                let loss = bce_with_logits(logits.clone(), targets);
                let loss_sum = loss.into_scalar().elem::<f64>() * n as f64;
                acc.add_batch(&values, &rows, loss_sum);
            }
        }
    }

    fn finish(&self) -> EvalMetrics {
        match self {
            Score::Single(acc) => acc.finish(),
            Score::Multi(acc, _) => acc.finish(),
        }
    }
}
