//! ReLU, and the residual sum's add + ReLU, through [`KilnBackend`]: on Flex, kiln's kernels
//! ([`crate::fill`]: over the cores, the sum and the ReLU in one pass); everywhere else,
//! Burn's. Flex's own are one pass per op on one thread, which between two parallel kernels
//! held the other cores idle (BENCHMARKS.md).

pub(crate) mod autodiff;
pub(crate) mod flex;

use burn::prelude::*;

use crate::backend::{KilnBackend, float};

/// max(x, 0), through [`KilnBackend::kiln_relu`].
pub fn relu<B: KilnBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    float(B::kiln_relu(x.into_primitive().tensor()))
}

/// max(a + b, 0), through [`KilnBackend::kiln_add_relu`]: a residual block's end.
pub fn add_relu<B: KilnBackend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, D> {
    float(B::kiln_add_relu(
        a.into_primitive().tensor(),
        b.into_primitive().tensor(),
    ))
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;
    use burn::tensor::activation::relu as burn_relu;

    use super::*;
    use crate::backend::CpuTrain;

    type B = CpuTrain;

    /// The output and both inputs' gradients of `a + b` then ReLU, through kiln's one op or
    /// Burn's two, with the output summed against a pattern so every gradient differs.
    fn run(a: &Tensor<B, 4>, b: &Tensor<B, 4>, through_kiln: bool) -> [Vec<f32>; 3] {
        let (a, b) = (a.clone().require_grad(), b.clone().require_grad());
        let out = if through_kiln {
            add_relu(a.clone(), b.clone())
        } else {
            burn_relu(a.clone() + b.clone())
        };
        let grads = weighted(&out).backward();
        [
            values(out.inner()),
            values(a.grad(&grads).expect("a is tracked")),
            values(b.grad(&grads).expect("b is tracked")),
        ]
    }

    fn weighted(out: &Tensor<B, 4>) -> Tensor<B, 1> {
        let n = out.shape().num_elements();
        let pattern: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
        let pattern = Tensor::<B, 1>::from_floats(pattern.as_slice(), &out.device()).reshape(out.dims());
        (out.clone() * pattern).sum()
    }

    fn values<const D: usize>(t: Tensor<crate::backend::Cpu, D>) -> Vec<f32> {
        t.into_data().to_vec().expect("f32 values")
    }

    /// Large enough for the kernels to split the work over the cores.
    fn inputs() -> (Tensor<B, 4>, Tensor<B, 4>) {
        let device = Default::default();
        let shape = [2, 8, 64, 80];
        (
            Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device),
            Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device),
        )
    }

    #[test]
    fn add_relu_and_its_gradients_match_burns_add_then_relu() {
        let (a, b) = inputs();
        let [kiln, burn] = [true, false].map(|k| run(&a, &b, k));
        for (what, (k, b)) in ["output", "a's gradient", "b's gradient"]
            .iter()
            .zip(kiln.iter().zip(&burn))
        {
            assert_eq!(k, b, "{what}");
        }
        assert!(
            kiln[0].contains(&0.0) && kiln[0].iter().any(|&v| v > 0.0),
            "both sides of the cut"
        );
    }

    #[test]
    fn relu_and_its_gradient_match_burns() {
        let (a, _) = inputs();
        let run = |through_kiln: bool| {
            let a = a.clone().require_grad();
            let out = if through_kiln {
                relu(a.clone())
            } else {
                burn_relu(a.clone())
            };
            let grads = weighted(&out).backward();
            (values(out.inner()), values(a.grad(&grads).expect("a is tracked")))
        };
        assert_eq!(run(true), run(false));
    }

    /// As PyTorch's `torch.relu` and its `threshold_backward`, so that a diverged activation
    /// shows in the loss: NaN stays NaN and passes its gradient on. Burn's Flex path gives 0
    /// for both, so this also shows that kiln's kernels and node are the ones that ran.
    #[test]
    fn relu_keeps_nan_and_passes_its_gradient_under_autodiff() {
        let device = Default::default();
        let x = Tensor::<B, 1>::from_floats([f32::NAN, -1.0, 2.0], &device).require_grad();
        let out = relu(x.clone());
        let grads = (out.clone() * Tensor::from_floats([3.0, 4.0, 5.0], &device))
            .sum()
            .backward();
        let got = values(out.inner());
        assert!(got[0].is_nan(), "{got:?}");
        assert_eq!(&got[1..], &[0.0, 2.0]);
        assert_eq!(values(x.grad(&grads).expect("x is tracked")), [3.0, 0.0, 5.0]);
    }
}
