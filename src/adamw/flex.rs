//! Flex's AdamW through the fused kernel (f32 tensors); other float types keep Burn's ops.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;
use burn::tensor::DType;

use super::kernel::adamw_update;
use super::{AdamWStep, Updated, burn_adamw};
use crate::backend::float;
use crate::flex_values::f32s;

pub fn adamw<const D: usize>(
    param: Tensor<Flex, D>,
    grad: Tensor<Flex, D>,
    moments: Option<(Tensor<Flex, D>, Tensor<Flex, D>)>,
    step: AdamWStep,
) -> Updated<Flex, D> {
    if param.dtype() != DType::F32 || grad.dtype() != DType::F32 {
        return burn_adamw(param, grad, moments, step);
    }
    let shape = param.shape();
    let (m, v) = match moments {
        Some((m, v)) => (owned(m), owned(v)),
        // Zero moments give exactly Burn's first update: 0·β + x = x.
        None => {
            let zeros = || FlexTensor::zeros(shape.clone(), DType::F32);
            (zeros(), zeros())
        }
    };
    let (mut p, mut m, mut v, g) = (owned(param), m, v, grad.into_primitive().tensor().to_contiguous());
    adamw_update(p.storage_mut(), f32s(&g), m.storage_mut(), v.storage_mut(), step);
    (float(p), float(m), float(v))
}

/// The tensor's values as a buffer of exactly its row-major elements, for updating in place
/// (`storage_mut` then copies only when the buffer is shared).
fn owned<const D: usize>(t: Tensor<Flex, D>) -> FlexTensor {
    let t = t.into_primitive().tensor();
    let whole = t.is_contiguous() && t.as_slice::<f32>().is_some_and(|s| s.len() == t.storage::<f32>().len());
    if whole { t } else { t.to_contiguous() }
}
