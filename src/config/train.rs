//! `[train]`: optimiser, schedule, loss, freezing, early stopping and logging.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    ClassWeights, Device, EarlyStopMetric, FrozenBn, LossKind, ModelConfig, OptimizerKind, Precision, ScheduleKind,
    default_freeze,
};

/// `[train]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: u32,
    pub batch_size: usize,
    pub seed: u64,
    pub device: Device,
    pub precision: Precision,
    pub optimizer: OptimizerKind,
    /// SGD momentum (PyTorch semantics, dampening 0).
    pub momentum: f64,
    /// AdamW's (beta1, beta2).
    pub betas: [f64; 2],
    /// AdamW's epsilon.
    pub eps: f64,
    /// Decoupled (AdamW) or L2 (SGD) weight decay; never applied to frozen groups.
    pub weight_decay: f64,
    /// Base LR of the backbone (every group but the head unless `group_lr` says otherwise).
    pub lr: f64,
    /// Base LR of the new classifier.
    pub head_lr: f64,
    /// Per-group base LRs for backbone groups, e.g. `{ layer4 = 3e-4, "layer3.5" = 2e-4 }`.
    /// A block's own entry beats its stage's, which beats `lr`. The head uses `head_lr`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub group_lr: BTreeMap<String, f64>,
    pub schedule: ScheduleKind,
    /// Linear warm-up length; see `train::schedule`.
    pub warmup_epochs: u32,
    /// Cosine annealing's eta_min.
    pub min_lr: f64,
    /// Cosine period in epochs (PyTorch's T_max); unset = `epochs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_max: Option<u32>,
    /// Step schedule: multiply by `gamma` every `step_size` epochs.
    pub step_size: u32,
    pub gamma: f64,
    /// Global gradient-norm clipping threshold; 0 = off.
    pub clip_grad_norm: f64,
    pub loss: LossKind,
    /// Cross-entropy label smoothing (PyTorch's `label_smoothing`).
    pub label_smoothing: f64,
    pub class_weights: ClassWeights,
    pub focal_gamma: f64,
    /// Groups frozen at the start (`stem`, `layer1`..`layer4`, `layerN.i`, `head`).
    /// Unset = `default_freeze(model.arch)`; `[]` = train everything.
    pub freeze: Vec<String>,
    /// Epochs between progressive unfreezes (one more stage each time); 0 = never.
    pub unfreeze_every: u32,
    /// BatchNorm inside frozen groups: `"fixed"` keeps running statistics (eval mode),
    /// `"train"` keeps updating them.
    pub frozen_bn: FrozenBn,
    /// While a prefix is frozen (the stem and the frozen blocks right after it) and
    /// `data.augment` is off, keep its output per training image from the first epoch and
    /// train later epochs from it (up to 2 GiB); an unfreeze inside the prefix drops it.
    pub cache_features: bool,
    /// Epochs without improvement before stopping; 0 = off.
    pub early_stop_patience: u32,
    pub early_stop_metric: EarlyStopMetric,
    /// The smallest change that counts as an improvement.
    pub early_stop_min_delta: f64,
    /// Optimizer steps between headless progress lines.
    pub log_every: u64,
    /// Epochs between `checkpoints/last` saves; 0 = only when the run ends.
    pub checkpoint_every: u32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 50,
            batch_size: 32,
            seed: 42,
            device: Device::Auto,
            precision: Precision::F32,
            optimizer: OptimizerKind::AdamW,
            momentum: 0.9,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 1e-4,
            lr: 1e-4,
            head_lr: 1e-3,
            group_lr: BTreeMap::new(),
            schedule: ScheduleKind::Cosine,
            warmup_epochs: 0,
            min_lr: 1e-6,
            t_max: None,
            step_size: 10,
            gamma: 0.1,
            clip_grad_norm: 1.0,
            loss: LossKind::Ce,
            label_smoothing: 0.0,
            class_weights: ClassWeights::None,
            focal_gamma: 2.0,
            freeze: default_freeze(ModelConfig::default().arch),
            unfreeze_every: 0,
            frozen_bn: FrozenBn::Fixed,
            cache_features: true,
            early_stop_patience: 0,
            early_stop_metric: EarlyStopMetric::ValLoss,
            early_stop_min_delta: 0.0,
            log_every: 10,
            checkpoint_every: 1,
        }
    }
}

impl TrainConfig {
    /// The cosine period in epochs (`t_max`, or `epochs` when unset).
    pub fn t_max_epochs(&self) -> u32 {
        self.t_max.unwrap_or(self.epochs)
    }

    /// Whether BatchNorm layers inside frozen groups keep updating their running statistics.
    pub fn frozen_bn_trains(&self) -> bool {
        self.frozen_bn == FrozenBn::Train
    }

    /// The base LR of a group: `head_lr` for `head`; for a block `layerN.i` its own `group_lr`
    /// entry, else its stage's, else `lr`; for a stage or the stem its entry, else `lr`.
    pub fn base_lr_for(&self, group: &str) -> f64 {
        if group == "head" {
            return self.head_lr;
        }
        if let Some(lr) = self.group_lr.get(group) {
            return *lr;
        }
        if let Some((stage, _)) = group.split_once('.')
            && let Some(lr) = self.group_lr.get(stage)
        {
            return *lr;
        }
        self.lr
    }
}
