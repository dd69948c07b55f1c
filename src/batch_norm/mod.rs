//! BatchNorm with batch statistics (training mode) through [`KilnBackend`]: on Flex, kiln's
//! kernels ([`kernels`]: two passes forward, two backward, per-channel sums on slices) under
//! one autodiff node; everywhere else, Burn's tensor ops. Burn's op-by-op version makes a
//! dozen elementwise passes forward and backward, each a fresh tensor, several over strided
//! broadcasts.

pub(crate) mod autodiff;
pub(crate) mod flex;
mod kernels;

use burn::prelude::*;

use crate::backend::KilnBackend;

/// The normalised output and the batch's per-channel mean and (biased) variance.
pub type Normalised<B> = (Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>);

/// The gradients of the input, the scale (γ) and the shift (β).
pub type Grads<B> = (Tensor<B, 4>, Tensor<B, 1>, Tensor<B, 1>);

/// `y = (x − mean) / √(var + ε) · γ + β` per channel of `x` `[n, c, h, w]`, the statistics
/// over the batch and the plane.
pub fn batch_norm_train<B: KilnBackend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    epsilon: f64,
) -> Normalised<B> {
    B::kiln_batch_norm_train(x, gamma, beta, epsilon)
}

/// A per-channel value repeated over the batch ([n, c, 1, 1]): Flex's vectorised broadcast
/// needs the dims outside H·W laid out in memory; a [1, c, 1, 1] operand sent every
/// elementwise op down a scalar path.
pub(crate) fn per_sample<B: Backend>(t: Tensor<B, 1>, [n, c]: [usize; 2]) -> Tensor<B, 4> {
    t.reshape([1, c, 1, 1]).repeat_dim(0, n)
}

/// The mean of each channel over the batch and the plane (the contiguous H·W axis first).
fn per_channel_mean<B: Backend>(t: Tensor<B, 4>) -> Tensor<B, 1> {
    let [n, c, h, w] = t.dims();
    t.reshape([n, c, h * w]).mean_dim(2).mean_dim(0).reshape([c])
}

/// [`batch_norm_train`] in Burn's tensor ops (under autodiff, Burn differentiates it).
pub fn burn_batch_norm_train<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    epsilon: f64,
) -> Normalised<B> {
    let [n, c, ..] = x.dims();
    let mean = per_channel_mean(x.clone());
    let centred = x - per_sample(mean.clone(), [n, c]);
    let var = per_channel_mean(centred.clone().square());
    let scale = gamma / (var.clone() + epsilon).sqrt();
    (
        centred * per_sample(scale, [n, c]) + per_sample(beta, [n, c]),
        mean,
        var,
    )
}

/// The gradients of [`batch_norm_train`] for the output's gradient `dy`, in Burn's tensor ops:
/// with x̂ = (x − mean)/σ and m values per channel, dβ = Σ dy, dγ = Σ dy·x̂ and
/// dx = γ/σ · (dy − dβ/m − x̂·dγ/m).
pub fn burn_batch_norm_grads<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    (mean, var): (Tensor<B, 1>, Tensor<B, 1>),
    epsilon: f64,
    dy: Tensor<B, 4>,
) -> Grads<B> {
    let [n, c, h, w] = x.dims();
    let m = (n * h * w) as f64;
    let inv_std = (var + epsilon).sqrt().recip();
    let x_hat = (x - per_sample(mean, [n, c])) * per_sample(inv_std.clone(), [n, c]);
    let d_beta = per_channel_mean(dy.clone()) * m;
    let d_gamma = per_channel_mean(dy.clone() * x_hat.clone()) * m;
    let dx = per_sample(gamma * inv_std, [n, c])
        * (dy - per_sample(d_beta.clone() / m, [n, c]) - x_hat * per_sample(d_gamma.clone() / m, [n, c]));
    (dx, d_gamma, d_beta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuTrain};
    use crate::test_draws::{draws, tensor};

    type B = CpuTrain;

    /// Odd sizes, a 1x1 plane (statistics over the batch alone), more channels than threads.
    const SHAPES: [[usize; 4]; 3] = [[3, 5, 7, 6], [8, 16, 1, 1], [2, 3, 4, 4]];

    /// x, γ, β and the output's gradient for `shape`.
    fn inputs(shape: [usize; 4]) -> [Vec<f32>; 4] {
        let len = shape.iter().product();
        [
            draws(len, 1, 0.5, 2.0),
            draws(shape[1], 2, 1.0, 0.3),
            draws(shape[1], 3, 0.0, 0.3),
            draws(len, 4, 0.0, 1.0),
        ]
    }

    fn values<Bk: Backend, const D: usize>(t: Tensor<Bk, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// Output, mean, variance and the gradients of x, γ and β for Σ y·dy, through kiln's node
    /// or through Burn's ops differentiated by Burn.
    fn run(shape: [usize; 4], through_kiln: bool) -> [Vec<f32>; 6] {
        let [x, gamma, beta, dy] = inputs(shape);
        let c = [shape[1]];
        let x = tensor::<B, 4>(&x, shape).require_grad();
        let gamma = tensor::<B, 1>(&gamma, c).require_grad();
        let beta = tensor::<B, 1>(&beta, c).require_grad();
        let (y, mean, var) = if through_kiln {
            batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5)
        } else {
            burn_batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5)
        };
        let grads = (y.clone() * tensor::<B, 4>(&dy, shape)).sum().backward();
        [
            values(y.inner()),
            values(mean.inner()),
            values(var.inner()),
            values(x.grad(&grads).unwrap()),
            values(gamma.grad(&grads).unwrap()),
            values(beta.grad(&grads).unwrap()),
        ]
    }

    fn assert_close(what: &str, got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * scale, "{what}[{i}]: {g} against {w}");
        }
    }

    #[test]
    fn kilns_node_gives_burns_output_statistics_and_gradients() {
        let names = [
            "output",
            "mean",
            "variance",
            "input gradient",
            "gamma gradient",
            "beta gradient",
        ];
        for shape in SHAPES {
            let (kiln, burn) = (run(shape, true), run(shape, false));
            for ((name, got), want) in names.iter().zip(&kiln).zip(&burn) {
                assert_close(&format!("{shape:?} {name}"), got, want);
            }
            assert!(
                kiln[3].iter().any(|g| g.abs() > 1e-3),
                "{shape:?}: the input gradient is all but zero"
            );
        }
    }

    #[test]
    fn the_closed_form_gradients_match_burns_autodiff() {
        for shape in SHAPES {
            let [_, mean, var, dx, d_gamma, d_beta] = run(shape, false);
            let [x, gamma, _, dy] = inputs(shape);
            let c = [shape[1]];
            let (got_dx, got_gamma, got_beta) = burn_batch_norm_grads(
                tensor::<Cpu, 4>(&x, shape),
                tensor(&gamma, c),
                (tensor(&mean, c), tensor(&var, c)),
                1e-5,
                tensor(&dy, shape),
            );
            assert_close(&format!("{shape:?} dx"), &values(got_dx), &dx);
            assert_close(&format!("{shape:?} dγ"), &values(got_gamma), &d_gamma);
            assert_close(&format!("{shape:?} dβ"), &values(got_beta), &d_beta);
        }
    }
}
