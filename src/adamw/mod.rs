//! AdamW with Burn's semantics and state, its update fused into one pass per tensor where the
//! backend has a kernel for it ([`KilnBackend::kiln_adamw`]: Flex). Burn's `AdamW` walks each
//! parameter a dozen times (each scalar op a fresh tensor): 9–12 % of a training step on the
//! CPU. The state is Burn's [`AdamWState`], so optimizer files written by either load in the
//! other, and runs checkpointed before this change resume.

pub(crate) mod flex;
mod kernel;

use burn::optim::{AdamWState, AdaptiveMomentumState, LearningRate, SimpleOptimizer};
use burn::prelude::*;
use burn::tensor::ops::Device;

use crate::backend::KilnBackend;

/// The hyperparameters of AdamW, PyTorch's and Burn's meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
}

/// One update's scalars: the hyperparameters, the learning rate and the step number
/// (1 for the first update), from which the bias corrections follow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    pub adamw: AdamW,
    pub lr: f64,
    pub time: usize,
}

impl AdamWStep {
    /// The bias corrections `1 − β₁ᵗ` and `1 − β₂ᵗ`, computed in f32 as Burn does.
    pub fn corrections(&self) -> (f32, f32) {
        let t = self.time as i32;
        (1.0 - self.adamw.beta_1.powi(t), 1.0 - self.adamw.beta_2.powi(t))
    }

    /// What the weights are multiplied by before the update, `1 − lr · weight_decay`; `None`
    /// when that is exactly 1 (Burn then leaves them as they are).
    pub fn decay_factor(&self) -> Option<f64> {
        let rate = self.lr * self.adamw.weight_decay as f64;
        (rate != 0.0).then_some(1.0 - rate)
    }
}

/// Parameter, first and second moment after one update.
pub type Updated<B, const D: usize> = (Tensor<B, D>, Tensor<B, D>, Tensor<B, D>);

/// Burn's AdamW update in tensor ops (`burn::optim::AdamW` without AMSGrad or cautious decay),
/// op for op, so the fused kernels can be held to it. `moments` is `None` before the first update.
pub fn burn_adamw<B: Backend, const D: usize>(
    param: Tensor<B, D>,
    grad: Tensor<B, D>,
    moments: Option<(Tensor<B, D>, Tensor<B, D>)>,
    step: AdamWStep,
) -> Updated<B, D> {
    let AdamW {
        beta_1,
        beta_2,
        epsilon,
        ..
    } = step.adamw;
    let (m, v) = match moments {
        Some((m, v)) => (
            m.mul_scalar(beta_1).add(grad.clone().mul_scalar(1.0 - beta_1)),
            v.mul_scalar(beta_2).add(grad.square().mul_scalar(1.0 - beta_2)),
        ),
        None => (
            grad.clone().mul_scalar(1.0 - beta_1),
            grad.square().mul_scalar(1.0 - beta_2),
        ),
    };
    let (c1, c2) = step.corrections();
    let delta = m
        .clone()
        .div_scalar(c1)
        .div(v.clone().div_scalar(c2).sqrt().add_scalar(epsilon));
    let decayed = match step.decay_factor() {
        Some(factor) => param.mul_scalar(factor),
        None => param,
    };
    (decayed - delta.mul_scalar(step.lr), m, v)
}

impl<B: KilnBackend> SimpleOptimizer<B> for AdamW {
    type State<const D: usize> = AdamWState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let (moments, time) = match state {
            Some(AdamWState { momentum: s }) => (Some((s.moment_1, s.moment_2)), s.time + 1),
            None => (None, 1),
        };
        let step = AdamWStep { adamw: *self, lr, time };
        let (param, moment_1, moment_2) = B::kiln_adamw(tensor, grad, moments, step);
        let momentum = AdaptiveMomentumState {
            time,
            moment_1,
            moment_2,
            max_moment_2: None,
        };
        (param, Some(AdamWState { momentum }))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device<B>) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::adaptor::OptimizerAdaptor;
    use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
    use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};

    use super::*;
    use crate::backend::{Cpu, CpuTrain};
    use crate::test_draws::{draws, tensor};

    const ADAMW: AdamW = AdamW {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.05,
    };

    fn burns() -> OptimizerAdaptor<burn::optim::AdamW, Linear<CpuTrain>, CpuTrain> {
        AdamWConfig::new()
            .with_beta_1(ADAMW.beta_1)
            .with_beta_2(ADAMW.beta_2)
            .with_epsilon(ADAMW.epsilon)
            .with_weight_decay(ADAMW.weight_decay)
            .init()
    }

    fn kilns() -> OptimizerAdaptor<AdamW, Linear<CpuTrain>, CpuTrain> {
        OptimizerAdaptor::from(ADAMW)
    }

    /// One step of `optim` on `layer` for the loss Σ (layer(x))², x drawn from `seed`.
    fn step<O: Optimizer<Linear<CpuTrain>, CpuTrain>>(
        optim: &mut O,
        layer: Linear<CpuTrain>,
        seed: u64,
    ) -> Linear<CpuTrain> {
        let x = tensor::<CpuTrain, 2>(&draws(6 * 40, seed, 0.0, 1.0), [6, 40]);
        let grads = layer.forward(x).square().sum().backward();
        let grads = GradientsParams::from_grads(grads, &layer);
        optim.step(1e-2, layer, grads)
    }

    fn values(layer: &Linear<CpuTrain>) -> Vec<f32> {
        let mut v = layer.weight.val().into_data().to_vec::<f32>().unwrap();
        v.extend(layer.bias.as_ref().unwrap().val().into_data().to_vec::<f32>().unwrap());
        v
    }

    fn layer() -> Linear<CpuTrain> {
        // 40 x 3000 = 120k weights: the kernel splits them over several tasks.
        let mut layer = LinearConfig::new(40, 3000).init(&Default::default());
        layer.weight = Param::from_tensor(tensor(&draws(40 * 3000, 7, 0.0, 0.1), [40, 3000]));
        layer.bias = Some(Param::from_tensor(tensor(&draws(3000, 8, 0.0, 0.1), [3000])));
        layer
    }

    #[test]
    fn the_fused_update_moves_every_weight_exactly_as_burns_adamw() {
        let (mut burn, mut kiln) = (burns(), kilns());
        let (mut by_burn, mut by_kiln) = (layer(), layer());
        for seed in 1..=4 {
            by_burn = step(&mut burn, by_burn, seed);
            by_kiln = step(&mut kiln, by_kiln, seed);
            let (b, k) = (values(&by_burn), values(&by_kiln));
            let moved = b.iter().zip(values(&layer()).iter()).filter(|(a, b)| a != b).count();
            assert!(
                moved > b.len() / 2,
                "step {seed}: only {moved} of {} weights moved",
                b.len()
            );
            let worst = b.iter().zip(&k).map(|(b, k)| (b - k).abs()).fold(0f32, f32::max);
            assert_eq!(
                worst, 0.0,
                "step {seed}: kiln's AdamW differs from Burn's by up to {worst}"
            );
        }
    }

    #[test]
    fn optimizer_state_written_by_burns_adamw_resumes_in_kilns_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let device = Default::default();
        // Two steps by one, saved; the third by the other after loading, against the first going on.
        for kiln_first in [false, true] {
            let path = dir.path().join(format!("optim-{kiln_first}"));
            let (mut burn, mut kiln) = (burns(), kilns());
            let mut layer = layer();
            for seed in 1..=2 {
                layer = if kiln_first {
                    step(&mut kiln, layer, seed)
                } else {
                    step(&mut burn, layer, seed)
                };
            }
            let (going_on, resumed) = if kiln_first {
                recorder.record(kiln.to_record(), path.clone()).unwrap();
                let mut loaded = burns().load_record(recorder.load(path.clone(), &device).unwrap());
                (step(&mut kiln, layer.clone(), 3), step(&mut loaded, layer, 3))
            } else {
                recorder.record(burn.to_record(), path.clone()).unwrap();
                let mut loaded = kilns().load_record(recorder.load(path.clone(), &device).unwrap());
                (step(&mut burn, layer.clone(), 3), step(&mut loaded, layer, 3))
            };
            assert_eq!(values(&going_on), values(&resumed), "written by kiln's: {kiln_first}");
        }
    }

    #[test]
    fn a_parameter_shared_elsewhere_is_not_changed_in_place() {
        let device = Default::default();
        let param = tensor::<Cpu, 2>(&draws(300 * 200, 1, 0.0, 1.0), [300, 200]);
        let grad = tensor::<Cpu, 2>(&draws(300 * 200, 2, 0.0, 1.0), [300, 200]);
        let kept = param.clone().into_data();
        let step = AdamWStep {
            adamw: ADAMW,
            lr: 0.1,
            time: 1,
        };
        let (updated, m, v) = Cpu::kiln_adamw(param.clone(), grad.clone(), None, step);
        assert_eq!(param.into_data(), kept, "the caller's copy of the weights changed");
        assert_ne!(updated.into_data(), kept);
        let m_kept = m.to_data();
        let (_, m2, _) = Cpu::kiln_adamw(Tensor::zeros([300, 200], &device), grad, Some((m.clone(), v)), step);
        assert_eq!(m.into_data(), m_kept, "the caller's copy of the first moment changed");
        assert_ne!(
            m2.into_data(),
            m_kept,
            "the second step left the first moment as it was"
        );
    }

    #[test]
    fn the_tensor_op_version_other_backends_use_gives_the_fused_kernels_values() {
        let shape = [300, 200];
        let len = 300 * 200;
        let (param, grad) = (
            tensor::<Cpu, 2>(&draws(len, 1, 0.0, 1.0), shape),
            draws(len, 2, 0.0, 1.0),
        );
        let mut fused = (param.clone(), None);
        let mut ops = (param, None);
        for time in 1..=3 {
            let step = AdamWStep {
                adamw: ADAMW,
                lr: 0.01,
                time,
            };
            // A different gradient each step, so that both moments matter.
            let grad = tensor::<Cpu, 2>(&grad.iter().map(|g| g * time as f32).collect::<Vec<_>>(), shape);
            let (p, m, v) = Cpu::kiln_adamw(fused.0, grad.clone(), fused.1, step);
            fused = (p, Some((m, v)));
            let (p, m, v) = burn_adamw(ops.0, grad, ops.1, step);
            ops = (p, Some((m, v)));
            assert_eq!(fused.0.to_data(), ops.0.to_data(), "step {time}");
        }
    }
}
