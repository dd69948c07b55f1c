//! The backends kiln runs on. Burn's `flex` is the CPU backend; CUDA comes with the `cuda` feature.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::flex::FlexTensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{ConvOptions, FloatTensor};

use burn::prelude::Tensor;
use burn::tensor::TensorPrimitive;

use crate::adamw::{AdamWStep, Updated};
use crate::pool::MaxPool;
use crate::{activation, adamw, batch_norm, conv, pool, squares};

/// The CPU backend for inference.
pub type Cpu = burn::backend::Flex;

/// A float primitive (what [`KilnBackend`]'s methods take and give) as a `Tensor`.
pub fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}
/// The CPU backend with autodiff, for training.
pub type CpuTrain = burn::backend::Autodiff<Cpu>;

/// CUDA. Weights and optimizer state are always f32; `train.precision` f16 or bf16 casts the
/// convolutions' operands down (see [`crate::conv::conv2d`]).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda<f32>;

/// Runs `$body` with `$b` bound to the autodiff backend and `$dev` to the device that a
/// [`Selected`] device names: one list of backends for every entry point. The precision is
/// the model's (`ResNet::computing_in`), not the backend's; device selection has refused
/// half precision on the CPU, and CUDA without the feature.
///
/// [`Selected`]: crate::device::Selected
#[macro_export]
macro_rules! with_backend {
    ($selected:expr, |$dev:ident : $b:ident| $body:expr) => {{
        match $selected {
            $crate::device::Selected::Cpu => {
                type $b = $crate::backend::CpuTrain;
                let $dev: burn::backend::flex::FlexDevice = Default::default();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::device::Selected::Cuda(index) => {
                type $b = burn::backend::Autodiff<$crate::backend::Cuda>;
                let $dev = burn::backend::cuda::CudaDevice::new(index);
                $body
            }
            #[cfg(not(feature = "cuda"))]
            $crate::device::Selected::Cuda(_) => unreachable!("device selection refuses CUDA without the feature"),
        }
    }};
}

/// Burn's backend extension for the operations kiln runs through its own kernels. Each method
/// defaults to Burn's; Flex overrides the convolution, the max pool and their gradients
/// (`crate::conv`, `crate::pool`), the training BatchNorm and its gradients
/// (`crate::batch_norm`), ReLU and the residual add + ReLU (`crate::activation`), the AdamW
/// update (`crate::adamw`) and Σ x² for the gradient norm (`crate::squares`); the autodiff
/// backend routes the convolution's, the pool's, the BatchNorm's and the ReLUs' backward
/// through them.
pub trait KilnBackend: Backend {
    /// Whether this backend overrides the convolution, the max pool, BatchNorm and the ReLUs
    /// with kernels of its own. Only then does autodiff record kiln's nodes for them;
    /// otherwise Burn's own run.
    const OWN_KERNELS: bool = false;

    /// A 2-D convolution, as `ModuleOps::conv2d`, whose backward (under autodiff) takes its
    /// gradients from [`KilnBackend::kiln_conv2d_x_grad`] and
    /// [`KilnBackend::kiln_conv2d_weight_grad`].
    fn kiln_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, bias, options)
    }

    /// The gradient of a convolution's input, as `ModuleOps::conv2d_x_backward`.
    fn kiln_conv2d_x_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// The gradient of a convolution's weight, as `ModuleOps::conv2d_weight_backward`.
    fn kiln_conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }

    /// A 2-D max pool, as `ModuleOps::max_pool2d`, whose backward (under autodiff) takes the
    /// input's gradient from [`KilnBackend::kiln_max_pool2d_x_grad`].
    fn kiln_max_pool2d(x: FloatTensor<Self>, pool: MaxPool) -> FloatTensor<Self> {
        Self::max_pool2d(x, pool.kernel, pool.stride, pool.padding, [1, 1], false)
    }

    /// The gradient of a max pool's input `x` for `output_grad`: each window's maximum gets it.
    fn kiln_max_pool2d_x_grad(
        x: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        pool: MaxPool,
    ) -> FloatTensor<Self> {
        pool::burn_max_pool2d_x_grad::<Self>(x, output_grad, pool)
    }

    /// One AdamW update of a parameter: the parameter and both moments after it
    /// (`moments` is `None` before the first).
    fn kiln_adamw<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<(Tensor<Self, D>, Tensor<Self, D>)>,
        step: AdamWStep,
    ) -> Updated<Self, D> {
        adamw::burn_adamw(param, grad, moments, step)
    }

    /// BatchNorm with batch statistics: the output, the batch mean and the biased variance.
    fn kiln_batch_norm_train(
        x: Tensor<Self, 4>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        epsilon: f64,
    ) -> batch_norm::Normalised<Self> {
        batch_norm::burn_batch_norm_train(x, gamma, beta, epsilon)
    }

    /// max(x, 0), as `ActivationOps::relu`; under autodiff its backward takes the gradient
    /// from [`KilnBackend::kiln_relu_grad`].
    fn kiln_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(x)
    }

    /// max(a + b, 0), its backward as [`KilnBackend::kiln_relu`]'s. Kiln's kernels take `a` and
    /// `b` of one shape; others broadcast through Burn's add.
    fn kiln_add_relu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(Self::float_add(a, b))
    }

    /// The gradient through a ReLU whose output was `output`, as `ActivationOps::relu_backward`.
    fn kiln_relu_grad(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu_backward(output, grad)
    }

    /// Σ x², as a one-value tensor: a gradient's share of the global norm.
    fn kiln_sum_of_squares<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, 1> {
        squares::burn_sum_of_squares(x)
    }

    /// The gradients of the input, γ and β of [`KilnBackend::kiln_batch_norm_train`].
    fn kiln_batch_norm_grads(
        x: Tensor<Self, 4>,
        gamma: Tensor<Self, 1>,
        statistics: (Tensor<Self, 1>, Tensor<Self, 1>),
        epsilon: f64,
        dy: Tensor<Self, 4>,
    ) -> batch_norm::Grads<Self> {
        batch_norm::burn_batch_norm_grads(x, gamma, statistics, epsilon, dy)
    }
}

/// Flex runs kiln's kernels (each falls back to Burn's for what it does not cover).
impl KilnBackend for Cpu {
    const OWN_KERNELS: bool = true;

    fn kiln_conv2d(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, options: ConvOptions<2>) -> FlexTensor {
        conv::flex::conv2d(x, weight, bias, options)
    }

    fn kiln_conv2d_x_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        conv::flex::conv2d_x_grad(x, weight, output_grad, options)
    }

    fn kiln_conv2d_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        conv::flex::conv2d_weight_grad(x, weight, output_grad, options)
    }

    fn kiln_max_pool2d(x: FlexTensor, pool: MaxPool) -> FlexTensor {
        pool::flex::max_pool2d(x, pool)
    }

    fn kiln_max_pool2d_x_grad(x: FlexTensor, output_grad: FlexTensor, pool: MaxPool) -> FlexTensor {
        pool::flex::max_pool2d_x_grad(x, output_grad, pool)
    }

    fn kiln_adamw<const D: usize>(
        param: Tensor<Self, D>,
        grad: Tensor<Self, D>,
        moments: Option<(Tensor<Self, D>, Tensor<Self, D>)>,
        step: AdamWStep,
    ) -> Updated<Self, D> {
        adamw::flex::adamw(param, grad, moments, step)
    }

    fn kiln_batch_norm_train(
        x: Tensor<Self, 4>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        epsilon: f64,
    ) -> batch_norm::Normalised<Self> {
        batch_norm::flex::batch_norm_train(x, gamma, beta, epsilon)
    }

    fn kiln_batch_norm_grads(
        x: Tensor<Self, 4>,
        gamma: Tensor<Self, 1>,
        statistics: (Tensor<Self, 1>, Tensor<Self, 1>),
        epsilon: f64,
        dy: Tensor<Self, 4>,
    ) -> batch_norm::Grads<Self> {
        batch_norm::flex::batch_norm_grads(x, gamma, statistics, epsilon, dy)
    }

    fn kiln_relu(x: FlexTensor) -> FlexTensor {
        activation::flex::relu(x)
    }

    fn kiln_add_relu(a: FlexTensor, b: FlexTensor) -> FlexTensor {
        activation::flex::add_relu(a, b)
    }

    fn kiln_relu_grad(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
        activation::flex::relu_grad(output, grad)
    }

    fn kiln_sum_of_squares<const D: usize>(x: Tensor<Self, D>) -> Tensor<Self, 1> {
        squares::flex_sum_of_squares(x)
    }
}

/// Autodiff records kiln's nodes, whose backward calls the inner backend's gradient methods.
impl<B: KilnBackend, C: CheckpointStrategy> KilnBackend for Autodiff<B, C> {
    fn kiln_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        conv::autodiff::conv2d::<B, C>(x, weight, bias, options)
    }

    fn kiln_max_pool2d(x: FloatTensor<Self>, pool: MaxPool) -> FloatTensor<Self> {
        pool::autodiff::max_pool2d::<B, C>(x, pool)
    }

    fn kiln_batch_norm_train(
        x: Tensor<Self, 4>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        epsilon: f64,
    ) -> batch_norm::Normalised<Self> {
        batch_norm::autodiff::batch_norm_train::<B, C>(x, gamma, beta, epsilon)
    }

    fn kiln_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        activation::autodiff::relu::<B, C>(x)
    }

    fn kiln_add_relu(a: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        activation::autodiff::add_relu::<B, C>(a, b)
    }
}

/// What training needs: autodiff over a [`KilnBackend`], itself a [`KilnBackend`].
pub trait TrainBackend: AutodiffBackend<InnerBackend: KilnBackend> + KilnBackend {}

impl<B> TrainBackend for B where B: AutodiffBackend<InnerBackend: KilnBackend> + KilnBackend {}

#[cfg(feature = "cuda")]
impl KilnBackend for Cuda {}
