//! Seeded test values (and tensors of them) from a generator of their own: tests run in parallel, and a backend's
//! seeded generator is shared between them, so two draws with the same seed could differ.

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `len` values drawn uniformly from `centre ± spread`, the same for the same seed.
pub fn draws(len: usize, seed: u64, centre: f32, spread: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| centre + rng.random_range(-spread..spread)).collect()
}

/// A tensor of `values` laid out row-major in `shape`, on the default device.
pub fn tensor<B: Backend, const D: usize>(values: &[f32], shape: [usize; D]) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}
