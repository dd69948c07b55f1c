//! Moving between Flex tensors and the f32 slices kiln's kernels work on: one place for the
//! glue every `flex.rs` (convolution, pool, BatchNorm, AdamW) needs.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;

use crate::backend::float;

/// The values of a row-major f32 tensor (what `to_contiguous` gives).
pub fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice().expect("to_contiguous gives a row-major f32 tensor")
}

/// The tensor's primitive in row-major order (only a view is copied).
pub fn contiguous<const D: usize>(t: Tensor<Flex, D>) -> FlexTensor {
    t.into_primitive().tensor().to_contiguous()
}

/// A float `Tensor` of `values` laid out row-major in `shape`.
pub fn from_values<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<Flex, D> {
    float(FlexTensor::from_data(TensorData::new(values, shape)))
}
