//! Flex's ReLU, add + ReLU and ReLU gradient through kiln's kernels (f32 only; anything else
//! keeps Burn's, whose ReLU turns NaN into 0).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::{ActivationOps, FloatTensorOps};
use burn::tensor::{DType, TensorData, TensorMetadata};

use crate::fill::{map, zip_map};
use crate::flex_values::f32s;

/// max(x, 0); NaN stays NaN, as in PyTorch (Flex's own ReLU gives 0).
fn relu_value(x: f32) -> f32 {
    if x < 0.0 { 0.0 } else { x }
}

pub fn relu(x: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 {
        return Flex::relu(x);
    }
    let x = x.to_contiguous();
    like(&x, map(f32s(&x), relu_value))
}

pub fn add_relu(a: FlexTensor, b: FlexTensor) -> FlexTensor {
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 || a.shape() != b.shape() {
        return Flex::relu(Flex::float_add(a, b));
    }
    let (a, b) = (a.to_contiguous(), b.to_contiguous());
    like(&a, zip_map(f32s(&a), f32s(&b), |a, b| relu_value(a + b)))
}

/// The gradient through a ReLU whose output was `output`: `grad` where the output is
/// positive (or NaN), zero where the ReLU cut, as PyTorch's `threshold_backward`.
pub fn relu_grad(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
    if output.dtype() != DType::F32 || grad.dtype() != DType::F32 || output.shape() != grad.shape() {
        return Flex::relu_backward(output, grad);
    }
    let (output, grad) = (output.to_contiguous(), grad.to_contiguous());
    like(
        &grad,
        zip_map(f32s(&output), f32s(&grad), |o, g| if o <= 0.0 { 0.0 } else { g }),
    )
}

/// `values` in `t`'s shape.
fn like(t: &FlexTensor, values: Vec<f32>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, t.shape()))
}
