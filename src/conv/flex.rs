//! Flex takes its convolutions and their gradients from kiln's kernels (f32 without groups or
//! dilation; anything else keeps Burn's).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::{ConvOptions, ModuleOps};
use burn::tensor::{DType, TensorData};

use super::geometry::ConvGeometry;
use super::{forward, input_grad, weight_grad};
use crate::flex_values::f32s;

pub fn conv2d(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, options: ConvOptions<2>) -> FlexTensor {
    let Some(g) = geometry(&x, &weight, bias.as_ref(), &options) else {
        return Flex::conv2d(x, weight, bias, options);
    };
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.map(|b| b.to_contiguous()),
    );
    let y = forward::conv2d_forward(&g, f32s(&x), f32s(&weight), bias.as_ref().map(f32s));
    FlexTensor::from_data(TensorData::new(y, g.output_shape()))
}

pub fn conv2d_x_grad(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(g) = geometry(&x, &weight, Some(&output_grad), &options) else {
        return Flex::conv2d_x_backward(x, weight, output_grad, options);
    };
    let (weight, output_grad) = (weight.to_contiguous(), output_grad.to_contiguous());
    let dx = input_grad::conv2d_input_grad(&g, f32s(&weight), f32s(&output_grad));
    FlexTensor::from_data(TensorData::new(dx, g.input_shape()))
}

pub fn conv2d_weight_grad(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: ConvOptions<2>,
) -> FlexTensor {
    let Some(g) = geometry(&x, &weight, Some(&output_grad), &options) else {
        return Flex::conv2d_weight_backward(x, weight, output_grad, options);
    };
    let (x, output_grad) = (x.to_contiguous(), output_grad.to_contiguous());
    let dw = weight_grad::conv2d_weight_grad(&g, f32s(&x), f32s(&output_grad));
    FlexTensor::from_data(TensorData::new(dw, g.weight_shape()))
}

/// The geometry kiln's kernels handle, or `None` for what they do not (groups, dilation,
/// anything but f32 in `x`, `weight` or `other`: the bias or the output gradient).
fn geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    other: Option<&FlexTensor>,
    options: &ConvOptions<2>,
) -> Option<ConvGeometry> {
    let f32s = [Some(x), Some(weight), other]
        .into_iter()
        .flatten()
        .all(|t| t.dtype() == DType::F32);
    if !f32s || options.groups != 1 || options.dilation != [1, 1] {
        return None;
    }
    let [x, w] = [x, weight].map(|t| t.layout().shape().clone());
    Some(ConvGeometry {
        batch: x[0],
        in_channels: x[1],
        out_channels: w[0],
        input: [x[2], x[3]],
        kernel: [w[2], w[3]],
        stride: options.stride,
        padding: options.padding,
    })
}
