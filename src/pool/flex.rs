//! Flex's max pool through kiln's kernels (f32, the geometries [`PoolGeometry::new`] takes);
//! anything else keeps Burn's.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::ModuleOps;
use burn::tensor::{DType, TensorData, TensorMetadata};

use super::kernels::{PoolGeometry, max_pool_forward, max_pool_x_grad};
use super::{MaxPool, burn_max_pool2d_x_grad};
use crate::flex_values::f32s;

pub fn max_pool2d(x: FlexTensor, pool: MaxPool) -> FlexTensor {
    let Some((g, [n, c, ..])) = geometry(&x, pool) else {
        return Flex::max_pool2d(x, pool.kernel, pool.stride, pool.padding, [1, 1], false);
    };
    let x = x.to_contiguous();
    let y = max_pool_forward(&g, f32s(&x));
    let [h, w] = g.output();
    FlexTensor::from_data(TensorData::new(y, [n, c, h, w]))
}

pub fn max_pool2d_x_grad(x: FlexTensor, output_grad: FlexTensor, pool: MaxPool) -> FlexTensor {
    let Some((g, shape)) = geometry(&x, pool).filter(|_| output_grad.dtype() == DType::F32) else {
        return burn_max_pool2d_x_grad::<Flex>(x, output_grad, pool);
    };
    let (x, output_grad) = (x.to_contiguous(), output_grad.to_contiguous());
    let dx = max_pool_x_grad(&g, f32s(&x), f32s(&output_grad));
    FlexTensor::from_data(TensorData::new(dx, shape))
}

/// The geometry and the input's shape, for an f32 input the kernels take.
fn geometry(x: &FlexTensor, pool: MaxPool) -> Option<(PoolGeometry, [usize; 4])> {
    let shape: [usize; 4] = x.shape().dims();
    let g = PoolGeometry::new(shape[0] * shape[1], [shape[2], shape[3]], pool)?;
    (x.dtype() == DType::F32).then_some((g, shape))
}
