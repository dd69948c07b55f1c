//! The trainer's side of the feature cache: when to keep one, filling it, training from it.

use std::time::{Duration, Instant};

use burn::prelude::*;

use super::Loop;
use crate::backend::{KilnBackend, TrainBackend};
use crate::model::{FoldedPrefix, global_pool};
use crate::train::emitter::Emitter;
use crate::train::feature_cache::FeatureCache;
use crate::train::step::StepInput;

/// The most memory a cache may take (f32: 2048 pooled features per image for ResNet-50 and
/// up; 64 x 56 x 56 activations after a 224 px stem).
const CACHE_LIMIT_BYTES: usize = 2 << 30;

impl<B: TrainBackend> Loop<B> {
    /// Keeps the training cache while there is a folded prefix and the training images are the
    /// same every epoch, made for exactly that prefix (a change of prefix makes a new one); the
    /// validation cache only while the prefix is the whole backbone (pooled features).
    pub(super) fn update_cache(&mut self) {
        let Some(model) = &self.p.model else { return };
        let prefix_blocks = self.prefix.as_ref().map(|p| p.blocks());
        let whole_backbone = prefix_blocks == Some(model.block_count());
        let dim = model.fc.weight.dims()[0];
        let enabled = self.config.train.cache_features;
        if !(enabled && whole_backbone) {
            self.val_features = None;
        } else if self.val_features.is_none() {
            // Validation images are never augmented.
            self.val_features = FeatureCache::new(self.p.val.len(), &[dim], model.block_count(), CACHE_LIMIT_BYTES);
        }
        let Some(prefix) = self.prefix.as_ref().filter(|_| enabled && !self.config.data.augment) else {
            self.features = None;
            return;
        };
        if self.features.as_ref().is_some_and(|c| c.source() == prefix.blocks()) {
            return;
        }
        let shape = if whole_backbone {
            vec![dim]
        } else {
            let size = self.config.data.image_size as usize;
            prefix_output_shape(prefix, size, &model.fc.weight.device())
        };
        self.features = FeatureCache::new(self.p.train.len(), &shape, prefix.blocks(), CACHE_LIMIT_BYTES);
        self.cache_generation += 1;
    }

    /// With a cache: runs the images through the folded prefix once, keeps its output and
    /// hands that on; without one: hands the images on.
    pub(super) fn fill_cache(&mut self, images: Tensor<B, 4>, indices: &[usize]) -> StepInput<B> {
        let (Some(cache), Some(prefix)) = (&mut self.features, &self.prefix) else {
            return StepInput::Images(images);
        };
        let x = prefix.forward(images.inner());
        let (values, input) = if cache.is_pooled() {
            let features = global_pool(x);
            (features.to_data(), StepInput::Features(Tensor::from_inner(features)))
        } else {
            let start = prefix.blocks();
            (
                x.to_data(),
                StepInput::Activations {
                    x: Tensor::from_inner(x),
                    start,
                },
            )
        };
        match values.convert::<f32>().into_vec::<f32>() {
            Ok(values) => cache.put(indices, &values),
            // Cannot happen after `convert`; without the values the cache just stays incomplete.
            Err(_) => self.features = None,
        }
        input
    }

    /// One epoch (from where it stands) from the cache alone, in the loader's batch order.
    /// Returns false if the cache was dropped or replaced mid-epoch, for the loader to go on.
    pub(super) fn train_from_cache(&mut self, em: &mut Emitter) -> anyhow::Result<bool> {
        let batches = self.p.train.epoch_batches(self.p.state.epoch as u64);
        let mut last = Instant::now();
        for indices in batches.iter().skip(self.p.state.batches_done) {
            self.poll_commands(em)?;
            if self.ending.is_some() {
                return Ok(true);
            }
            // An unfreeze mid-epoch may have dropped the cache or put an empty one for the new
            // prefix in its place: the loader takes over from this batch.
            let Some(cache) = self.features.as_ref().filter(|c| c.is_complete()) else {
                return Ok(false);
            };
            let Some((found, rows)) = cache.batch(indices) else {
                self.p.state.batches_done += 1;
                continue;
            };
            let input = if cache.is_pooled() {
                StepInput::Features(Tensor::from_data(rows, &self.device))
            } else {
                StepInput::Activations {
                    x: Tensor::from_data(rows, &self.device),
                    start: cache.source(),
                }
            };
            self.take_step(em, input, &found, Duration::ZERO, &mut last)?;
        }
        Ok(true)
    }
}

/// `[channels, height, width]` after a folded prefix, from one blank image of side `size`.
fn prefix_output_shape<B: KilnBackend>(prefix: &FoldedPrefix<B>, size: usize, device: &B::Device) -> Vec<usize> {
    let blank = Tensor::<B, 4>::zeros([1, 3, size, size], device);
    let [_, c, h, w] = prefix.forward(blank).dims();
    vec![c, h, w]
}
