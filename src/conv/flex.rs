//! Flex takes its convolution weight gradient from kiln's im2col + gemm kernel (f32; other
//! float types, groups and dilation keep Burn's).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::{ConvOptions, ModuleOps};
use burn::tensor::{DType, TensorData};

use super::weight_grad::{ConvGeometry, conv2d_weight_grad};
use crate::backend::KilnBackend;

impl KilnBackend for Flex {
    fn kiln_conv2d_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let plain = options.groups == 1 && options.dilation == [1, 1];
        if !plain || x.dtype() != DType::F32 || output_grad.dtype() != DType::F32 {
            return Flex::conv2d_weight_backward(x, weight, output_grad, options);
        }
        let w_shape = weight.layout().shape().clone();
        let [batch, in_channels, h, w] = dims4(&x);
        let g = ConvGeometry {
            batch,
            in_channels,
            out_channels: w_shape[0],
            input: [h, w],
            kernel: [w_shape[2], w_shape[3]],
            stride: options.stride,
            padding: options.padding,
        };
        let (x, output_grad) = (x.to_contiguous(), output_grad.to_contiguous());
        let dw = conv2d_weight_grad(&g, f32s(&x), f32s(&output_grad));
        FlexTensor::from_data(TensorData::new(dw, w_shape))
    }
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let shape = t.layout().shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

fn f32s(t: &FlexTensor) -> &[f32] {
    t.as_slice().expect("to_contiguous gives a row-major f32 tensor")
}
