//! The backends kiln runs on. Burn's `flex` is the CPU backend; CUDA comes with the `cuda` feature.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{ConvOptions, FloatTensor};

/// The CPU backend for inference.
pub type Cpu = burn::backend::Flex;
/// The CPU backend with autodiff, for training.
pub type CpuTrain = burn::backend::Autodiff<Cpu>;

/// CUDA in f32 and bf16 (the float type is the backend's: weights, activations, optimizer state).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda<f32>;
#[cfg(feature = "cuda")]
pub type CudaBf16 = burn::backend::Cuda<half::bf16>;

/// Runs `$body` with `$b` bound to the autodiff backend and `$dev` to the device that a
/// [`Selected`] device and precision name: one list of backends for every entry point.
/// Device selection has already refused the pairs that reach `unreachable!`.
///
/// [`Selected`]: crate::device::Selected
#[macro_export]
macro_rules! with_backend {
    ($selected:expr, $precision:expr, |$dev:ident : $b:ident| $body:expr) => {{
        match ($selected, $precision) {
            ($crate::device::Selected::Cpu, _) => {
                type $b = $crate::backend::CpuTrain;
                let $dev: burn::backend::flex::FlexDevice = Default::default();
                $body
            }
            #[cfg(feature = "cuda")]
            ($crate::device::Selected::Cuda(index), $crate::config::Precision::F32) => {
                type $b = burn::backend::Autodiff<$crate::backend::Cuda>;
                let $dev = burn::backend::cuda::CudaDevice::new(index);
                $body
            }
            #[cfg(feature = "cuda")]
            ($crate::device::Selected::Cuda(index), $crate::config::Precision::Bf16) => {
                type $b = burn::backend::Autodiff<$crate::backend::CudaBf16>;
                let $dev = burn::backend::cuda::CudaDevice::new(index);
                $body
            }
            #[cfg(feature = "cuda")]
            ($crate::device::Selected::Cuda(_), $crate::config::Precision::F16) => {
                unreachable!("device selection refuses f16")
            }
            #[cfg(not(feature = "cuda"))]
            ($crate::device::Selected::Cuda(_), _) => unreachable!("device selection refuses CUDA without the feature"),
        }
    }};
}

/// Burn's backend extension for the operations kiln runs through its own kernels. Each method
/// defaults to Burn's; Flex overrides the convolution and its gradients (`crate::conv`), and
/// the autodiff backend routes convolution backward through them.
pub trait KilnBackend: Backend {
    /// Whether this backend overrides the convolution with kernels of its own. Only then does
    /// autodiff record kiln's convolution node; otherwise Burn's own (with its fused bias) runs.
    const OWN_CONV: bool = false;

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
}

/// What training needs: autodiff over a [`KilnBackend`], itself a [`KilnBackend`].
pub trait TrainBackend: AutodiffBackend<InnerBackend: KilnBackend> + KilnBackend {}

impl<B> TrainBackend for B where B: AutodiffBackend<InnerBackend: KilnBackend> + KilnBackend {}

#[cfg(feature = "cuda")]
impl KilnBackend for Cuda {}
#[cfg(feature = "cuda")]
impl KilnBackend for CudaBf16 {}
