//! The optimizer step: AdamW or SGD, one learning rate per group, global-norm clipping.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Param, RunningState};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;

use crate::adamw::AdamW;
use crate::backend::{KilnBackend, TrainBackend};
use crate::config::{OptimizerKind, TrainConfig};
use crate::model::{ResNet, TensorVisitor, groups_of};

/// The optimizers the recipe names, with PyTorch's semantics.
pub enum Optim<B: TrainBackend> {
    /// Decoupled weight decay; betas (0.9, 0.999), eps 1e-8. kiln's fused update, Burn's state.
    AdamW(OptimizerAdaptor<AdamW, ResNet<B>, B>),
    /// Momentum with dampening 0 and L2 weight decay added to the gradient, as `torch.optim.SGD`.
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, ResNet<B>, B>),
}

impl<B: TrainBackend> Optim<B> {
    /// The optimizer `train.optimizer` names, with `train.betas`, `eps`, `momentum`, `weight_decay`.
    pub fn new(config: &TrainConfig) -> Self {
        let weight_decay = config.weight_decay;
        match config.optimizer {
            OptimizerKind::AdamW => Optim::AdamW(OptimizerAdaptor::from(AdamW {
                beta_1: config.betas[0] as f32,
                beta_2: config.betas[1] as f32,
                epsilon: config.eps as f32,
                weight_decay: weight_decay as f32,
            })),
            OptimizerKind::Sgd => {
                let momentum = (config.momentum > 0.0).then_some(MomentumConfig {
                    momentum: config.momentum,
                    dampening: 0.0,
                    nesterov: false,
                });
                let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
                Optim::Sgd(SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).init())
            }
        }
    }

    fn step(&mut self, lr: f64, model: ResNet<B>, grads: GradientsParams) -> ResNet<B> {
        match self {
            Optim::AdamW(o) => o.step(lr, model, grads),
            Optim::Sgd(o) => o.step(lr, model, grads),
        }
    }

    /// Writes the optimizer state (moments, momentum buffers) keyed by parameter id.
    pub fn save(&self, path: &Path) -> Result<(), burn::record::RecorderError> {
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        match self {
            Optim::AdamW(o) => recorder.record(o.to_record(), path.to_path_buf()),
            Optim::Sgd(o) => recorder.record(o.to_record(), path.to_path_buf()),
        }
    }

    pub fn load(self, path: &Path, device: &B::Device) -> Result<Self, burn::record::RecorderError> {
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        Ok(match self {
            Optim::AdamW(o) => Optim::AdamW(o.load_record(recorder.load(path.to_path_buf(), device)?)),
            Optim::Sgd(o) => Optim::Sgd(o.load_record(recorder.load(path.to_path_buf(), device)?)),
        })
    }
}

/// The learning-rate group of a tensor: its block (`layer4.1`) where `lrs` gives the block a
/// rate of its own (`train.group_lr`), else "stem", "layer1".."layer4" or "head".
pub fn lr_group(tensor: &str, lrs: &BTreeMap<String, f64>) -> String {
    let (stage, block) = groups_of(tensor);
    block.filter(|b| lrs.contains_key(b)).unwrap_or(stage)
}

/// One optimizer step: gradients clipped by their global norm over all trainable
/// parameters (`torch.nn.utils.clip_grad_norm_`), then each group updated at its own LR.
/// With `loss_scale`, `grads` are those of the loss times it: they are divided by it first.
/// When any gradient is inf or NaN (f16 overflowed, or training diverged) no parameter moves.
/// Returns the model, the (unscaled) gradient norm before clipping, and whether it stepped.
pub fn step<B: TrainBackend>(
    optim: &mut Optim<B>,
    model: ResNet<B>,
    grads: B::Gradients,
    lrs: &BTreeMap<String, f64>,
    clip_norm: f64,
    loss_scale: Option<f64>,
) -> (ResNet<B>, f64, bool) {
    let mut model = model;
    let mut all = GradientsParams::from_grads(grads, &model);
    model.walk_tensors(&mut Contiguous::<B> {
        grads: &mut all,
        backend: std::marker::PhantomData,
    });
    let mut norm = Norm::<B> { grads: &all, sum: None };
    model.walk_tensors(&mut norm);
    let unscale = loss_scale.map_or(1.0, |s| 1.0 / s);
    let total = norm.sum.map(|s| s.into_scalar().elem::<f64>().sqrt()).unwrap_or(0.0) * unscale;
    if !total.is_finite() {
        return (model, total, false);
    }
    // PyTorch's clip coefficient: max_norm / (norm + 1e-6), applied only when below 1.
    let clip = if clip_norm > 0.0 {
        (clip_norm / (total + 1e-6)).min(1.0)
    } else {
        1.0
    };
    let mut split = Split::<B> {
        all: &mut all,
        lrs,
        scale: clip * unscale,
        groups: BTreeMap::new(),
        backend: std::marker::PhantomData,
    };
    model.walk_tensors(&mut split);
    for (group, grads) in split.groups {
        let lr = lrs.get(&group).copied().unwrap_or(0.0);
        model = optim.step(lr, model, grads);
    }
    (model, total, true)
}

/// Copies each gradient into row-major order once. Burn's convolution weight gradient on Flex
/// (still used for grouped, dilated or non-f32 convolutions) comes back as a strided view, and
/// every elementwise op on a view (the norm, the clip, each optimizer update) then walks it
/// index by index: that was a fifth of a training step. kiln's own kernels already give
/// row-major gradients, for which this only relabels.
struct Contiguous<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> TensorVisitor<B> for Contiguous<'_, B> {
    fn param<const D: usize>(&mut self, _: &str, param: &mut Param<Tensor<B, D>>, _: bool) {
        if D > 1
            && let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id)
        {
            // A reshape of a strided view copies it; the second reshape only relabels.
            let dims = g.dims();
            let flat = g.reshape([dims.iter().product::<usize>()]);
            self.grads.register(param.id, flat.reshape(dims));
        }
    }

    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}

struct Norm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: TrainBackend> TensorVisitor<B> for Norm<'_, B> {
    fn param<const D: usize>(&mut self, _: &str, param: &mut Param<Tensor<B, D>>, _: bool) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let sq = B::InnerBackend::kiln_sum_of_squares(g);
            self.sum = Some(match self.sum.take() {
                Some(s) => s + sq,
                None => sq,
            });
        }
    }

    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}

struct Split<'a, B: AutodiffBackend> {
    all: &'a mut GradientsParams,
    lrs: &'a BTreeMap<String, f64>,
    /// What every gradient is multiplied by: the clip coefficient over the loss scale.
    scale: f64,
    groups: BTreeMap<String, GradientsParams>,
    backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> TensorVisitor<B> for Split<'_, B> {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, _: bool) {
        if let Some(g) = self.all.remove::<B::InnerBackend, D>(param.id) {
            let g = if self.scale != 1.0 { g * self.scale } else { g };
            self.groups
                .entry(lr_group(name, self.lrs))
                .or_default()
                .register(param.id, g);
        }
    }

    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}
