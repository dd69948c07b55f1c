//! BatchNorm with its mode chosen by the caller, not by the backend.
//!
//! Burn's `BatchNorm::forward` trains whenever autodiff is on; fine-tuning needs frozen
//! blocks to keep their running statistics while the rest of the network trains.

use burn::nn::BatchNorm;
use burn::prelude::*;

use crate::backend::KilnBackend;
use crate::batch_norm::{batch_norm_train, per_sample};

/// How a BatchNorm layer normalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BnMode {
    /// Running statistics, left unchanged (inference, frozen layers).
    Eval,
    /// Batch statistics; running statistics updated as PyTorch does (momentum, unbiased variance).
    Train,
}

pub fn batch_norm<B: KilnBackend>(bn: &BatchNorm<B>, x: Tensor<B, 4>, mode: BnMode) -> Tensor<B, 4> {
    match mode {
        BnMode::Eval => {
            let [n, c, ..] = x.dims();
            // Fold the four per-channel steps into one scale and one shift. `value_sync`: a
            // layer frozen since its last training forward still has that update pending.
            let scale = bn.gamma.val() / (bn.running_var.value_sync() + bn.epsilon).sqrt();
            let shift = bn.beta.val() - bn.running_mean.value_sync() * scale.clone();
            x * per_sample(scale, [n, c]) + per_sample(shift, [n, c])
        }
        BnMode::Train => {
            let [n, _, h, w] = x.dims();
            let count = n * h * w;
            let (y, mean, var) = batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
            let m = bn.momentum;
            let unbiased = count as f64 / (count.max(2) - 1) as f64;
            bn.running_mean
                .update(bn.running_mean.value_sync() * (1.0 - m) + mean.detach() * m);
            bn.running_var
                .update(bn.running_var.value_sync() * (1.0 - m) + var.detach() * (unbiased * m));
            y
        }
    }
}
