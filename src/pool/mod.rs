//! Max pooling through [`KilnBackend`]: on Flex, kiln's kernels ([`kernels`]: rows reduced with
//! vector max, no index tensor); everywhere else, Burn's.

pub(crate) mod autodiff;
pub(crate) mod flex;
mod kernels;

use burn::prelude::*;
use burn::tensor::ops::FloatTensor;

use crate::backend::{KilnBackend, float};

/// A 2-D max pool without dilation, rounding the output size down (PyTorch's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// Burn's gradient of a max pool's input: its pool again with indices, then its backward.
pub fn burn_max_pool2d_x_grad<B: Backend>(
    x: FloatTensor<B>,
    output_grad: FloatTensor<B>,
    pool: MaxPool,
) -> FloatTensor<B> {
    let (kernel, stride, padding) = (pool.kernel, pool.stride, pool.padding);
    let indices = B::max_pool2d_with_indices(x.clone(), kernel, stride, padding, [1, 1], false).indices;
    B::max_pool2d_with_indices_backward(x, kernel, stride, padding, [1, 1], false, output_grad, indices).x_grad
}

/// `burn::tensor::module::max_pool2d` with `pool`, through [`KilnBackend::kiln_max_pool2d`].
pub fn max_pool2d<B: KilnBackend>(x: Tensor<B, 4>, pool: MaxPool) -> Tensor<B, 4> {
    let out = B::kiln_max_pool2d(x.into_primitive().tensor(), pool);
    float(out)
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;
    use burn::tensor::module::max_pool2d as burn_max_pool2d;

    use super::*;
    use crate::backend::CpuTrain;

    type B = CpuTrain;

    /// The output and the input's gradient of `pool` on `x`, through kiln or through Burn, with
    /// the output summed against a fixed pattern so that every output's gradient differs.
    fn run(x: &Tensor<B, 4>, pool: MaxPool, through_kiln: bool) -> (Vec<f32>, Vec<f32>) {
        let x = x.clone().require_grad();
        let out = if through_kiln {
            max_pool2d(x.clone(), pool)
        } else {
            burn_max_pool2d(x.clone(), pool.kernel, pool.stride, pool.padding, [1, 1], false)
        };
        let n = out.shape().num_elements();
        let pattern: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
        let pattern = Tensor::<B, 1>::from_floats(pattern.as_slice(), &out.device()).reshape(out.dims());
        let values = out.clone().into_data().to_vec::<f32>().unwrap();
        let grads = (out * pattern).sum().backward();
        let dx = x.grad(&grads).expect("the input requires a gradient");
        (values, dx.into_data().to_vec::<f32>().unwrap())
    }

    #[test]
    fn outputs_and_gradients_match_burns_max_pool() {
        let device = Default::default();
        let pools = [
            // ResNet's stem pool, then an even kernel, one without padding and a stride of one.
            MaxPool {
                kernel: [3, 3],
                stride: [2, 2],
                padding: [1, 1],
            },
            MaxPool {
                kernel: [2, 2],
                stride: [2, 2],
                padding: [1, 0],
            },
            MaxPool {
                kernel: [3, 2],
                stride: [3, 1],
                padding: [0, 0],
            },
            MaxPool {
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1, 1],
            },
        ];
        // Odd and even sizes, a plane no bigger than one window, and more planes than threads.
        let shapes = [[2, 3, 11, 8], [1, 1, 1, 1], [3, 5, 7, 9]];
        for pool in pools {
            // Only shapes the pool has an output for.
            let fits = |s: &[usize; 4]| (0..2).all(|a| s[2 + a] + 2 * pool.padding[a] >= pool.kernel[a]);
            for shape in shapes.into_iter().filter(fits) {
                let x = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
                let (y, dx) = run(&x, pool, true);
                let (ry, rdx) = run(&x, pool, false);
                assert_eq!(y, ry, "output of {pool:?} on {shape:?}");
                assert_eq!(dx, rdx, "input gradient of {pool:?} on {shape:?}");
            }
        }
    }

    #[test]
    fn a_tie_sends_the_gradient_to_the_first_maximum_only() {
        let device = Default::default();
        // Every value equal: each window's gradient goes to its first element in row-major order.
        let x = Tensor::<B, 4>::ones([1, 1, 4, 4], &device);
        let pool = MaxPool {
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
        };
        let (y, dx) = run(&x, pool, true);
        let (ry, rdx) = run(&x, pool, false);
        assert_eq!(y, ry);
        assert_eq!(dx, rdx);
        assert_eq!(
            dx.iter().filter(|&&g| g != 0.0).count(),
            4,
            "one element per window: {dx:?}"
        );
    }
}
