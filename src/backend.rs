//! The backends kiln runs on. Burn's `flex` is the CPU backend; CUDA comes with the `cuda` feature.

/// The CPU backend for inference.
pub type Cpu = burn::backend::Flex;
/// The CPU backend with autodiff, for training.
pub type CpuTrain = burn::backend::Autodiff<Cpu>;
