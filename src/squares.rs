//! Σ x² of a tensor, for the gradients' global norm: on Flex, one pass over the cores summing
//! in f64. Burn's `square().sum()` on Flex wrote a squared copy of each gradient and summed it
//! on one thread, every step, while the other cores waited (BENCHMARKS.md).

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::DType;
use rayon::prelude::*;

use crate::flex_values::{contiguous, f32s, from_values};

/// Values each task sums; the tasks' sums are then added in order, so the result does not
/// depend on which thread summed what.
const CHUNK: usize = 1 << 15;

/// Σ x² as a one-value tensor, by Burn's ops.
pub fn burn_sum_of_squares<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, 1> {
    x.square().sum()
}

/// Σ x² over f32 values, in f64.
pub fn sum_of_squares(values: &[f32]) -> f64 {
    let partials: Vec<f64> = values
        .par_chunks(CHUNK)
        .map(|chunk| chunk.iter().map(|&v| v as f64 * v as f64).sum())
        .collect();
    partials.iter().sum()
}

pub fn flex_sum_of_squares<const D: usize>(x: Tensor<Flex, D>) -> Tensor<Flex, 1> {
    if x.dtype() != DType::F32 {
        return burn_sum_of_squares(x);
    }
    let x = contiguous(x);
    from_values(vec![sum_of_squares(f32s(&x)) as f32], [1])
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn matches_burns_square_sum_over_several_chunks() {
        let x = Tensor::<Flex, 2>::random(
            [37, 3 * CHUNK / 37 + 11],
            Distribution::Normal(0.0, 1.0),
            &Default::default(),
        );
        let [kiln, burn] = [flex_sum_of_squares(x.clone()), burn_sum_of_squares(x)].map(|t| t.into_scalar());
        assert!((kiln - burn).abs() <= 1e-5 * burn, "kiln {kiln}, Burn {burn}");
    }

    #[test]
    fn sums_exactly_where_every_square_is_exact() {
        let values: Vec<f32> = (0..3 * CHUNK + 5).map(|i| (i % 5) as f32).collect();
        let expected: f64 = values.iter().map(|&v| (v * v) as f64).sum();
        assert_eq!(sum_of_squares(&values), expected);
    }
}
