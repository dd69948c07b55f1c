//! Flex's training BatchNorm through kiln's kernels (contiguous f32); anything else keeps
//! Burn's ops.

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::DType;

use super::kernels::{self, Layout};
use super::{Grads, Normalised, burn_batch_norm_grads, burn_batch_norm_train};
use crate::flex_values::{contiguous, f32s, from_values};

pub fn batch_norm_train(
    x: Tensor<Flex, 4>,
    gamma: Tensor<Flex, 1>,
    beta: Tensor<Flex, 1>,
    epsilon: f64,
) -> Normalised<Flex> {
    if x.dtype() != DType::F32 {
        return burn_batch_norm_train(x, gamma, beta, epsilon);
    }
    let shape = x.dims();
    let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
    let (y, mean, var) = kernels::forward(layout(shape), f32s(&x), f32s(&gamma), f32s(&beta), epsilon);
    (
        from_values(y, shape),
        from_values(mean, [shape[1]]),
        from_values(var, [shape[1]]),
    )
}

pub fn batch_norm_grads(
    x: Tensor<Flex, 4>,
    gamma: Tensor<Flex, 1>,
    (mean, var): (Tensor<Flex, 1>, Tensor<Flex, 1>),
    epsilon: f64,
    dy: Tensor<Flex, 4>,
) -> Grads<Flex> {
    if x.dtype() != DType::F32 || dy.dtype() != DType::F32 {
        return burn_batch_norm_grads(x, gamma, (mean, var), epsilon, dy);
    }
    let shape = x.dims();
    let (x, dy) = (contiguous(x), contiguous(dy));
    let [gamma, mean, var] = [contiguous(gamma), contiguous(mean), contiguous(var)];
    let statistics = (f32s(&mean), f32s(&var));
    let (dx, d_gamma, d_beta) =
        kernels::backward(layout(shape), f32s(&x), f32s(&gamma), statistics, epsilon, f32s(&dy));
    (
        from_values(dx, shape),
        from_values(d_gamma, [shape[1]]),
        from_values(d_beta, [shape[1]]),
    )
}

fn layout([images, channels, h, w]: [usize; 4]) -> Layout {
    Layout {
        images,
        channels,
        plane: h * w,
    }
}
