//! The trainer's side of the feature cache: when to keep one, filling it, training from it.

use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use super::Loop;
use crate::train::emitter::Emitter;
use crate::train::feature_cache::FeatureCache;
use crate::train::step::StepInput;

/// The most memory the cache may take (f32 features: 2048 per image for ResNet-50 and up).
const CACHE_LIMIT_BYTES: usize = 2 << 30;

impl<B: AutodiffBackend> Loop<B> {
    /// Keeps caches exactly while the folded prefix is the whole backbone (the training one
    /// only while its images are the same every epoch); any unfreeze in the backbone drops them.
    pub(super) fn update_cache(&mut self) {
        let Some(model) = &self.p.model else { return };
        let whole_backbone = self.prefix.as_ref().is_some_and(|p| p.blocks() == model.block_count());
        let dim = model.fc.weight.dims()[0];
        let keep = whole_backbone && self.config.train.cache_features;
        if !keep {
            self.val_features = None;
        } else if self.val_features.is_none() {
            // Validation images are never augmented.
            self.val_features = FeatureCache::new(self.p.val.len(), dim, CACHE_LIMIT_BYTES);
        }
        if !keep || self.config.data.augment {
            self.features = None;
        } else if self.features.is_none() {
            self.features = FeatureCache::new(self.p.train.len(), dim, CACHE_LIMIT_BYTES);
            self.cache_generation += 1;
        }
    }

    /// With a cache: runs the images through the folded backbone once, keeps the features
    /// and hands them on; without one: hands the images on.
    pub(super) fn fill_cache(&mut self, images: Tensor<B, 4>, indices: &[usize]) -> StepInput<B> {
        let (Some(cache), Some(prefix), Some(model)) = (&mut self.features, &self.prefix, &self.p.model) else {
            return StepInput::Images(images);
        };
        let features = model.valid().features_folded(prefix, images.inner());
        match features.to_data().convert::<f32>().into_vec::<f32>() {
            Ok(values) => cache.put(indices, &values),
            // Cannot happen after `convert`; without the values the cache just stays incomplete.
            Err(_) => self.features = None,
        }
        StepInput::Features(Tensor::from_inner(features))
    }

    /// One epoch (from where it stands) from cached features alone, in the loader's batch
    /// order. Returns false if the cache was dropped mid-epoch, for the loader to go on.
    pub(super) fn train_from_cache(&mut self, em: &mut Emitter) -> anyhow::Result<bool> {
        let batches = self.p.train.epoch_batches(self.p.state.epoch as u64);
        let mut last = Instant::now();
        for indices in batches.iter().skip(self.p.state.batches_done) {
            self.poll_commands(em)?;
            if self.ending.is_some() {
                return Ok(true);
            }
            let Some(cache) = &self.features else { return Ok(false) };
            let Some((found, features)) = cache.batch(indices) else {
                self.p.state.batches_done += 1;
                continue;
            };
            let input = StepInput::Features(Tensor::from_data(features, &self.device));
            self.take_step(em, input, &found, Duration::ZERO, &mut last)?;
        }
        Ok(true)
    }
}
