//! The backends kiln runs on. Burn's `flex` is the CPU backend; CUDA comes with the `cuda` feature.

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
