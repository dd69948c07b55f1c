//! `RunConfig`: everything a training run needs, read from TOML, overridable with `--set`.
//!
//! One path turns text into a config, whatever the source: parse the file into a `toml::Value`
//! tree, apply the `--set key=value` overrides to that tree, fill the defaults that depend on
//! other keys (`train.freeze` depends on `model.arch`), reject unknown keys (naming the full dotted
//! key and suggesting a close one), deserialise (type errors name the key), then `validate()`
//! (range errors name the key and the allowed range).
//!
//! Defaults are the recipe's hyper-parameters (AdamW, backbone LR 1e-4, head LR 1e-3, cosine to
//! 1e-6, clipping at 1.0, weight decay 1e-4, 7:1:2 split, 224 px). The default model is the
//! smallest ResNet so that a config without `[model]` runs on a laptop;
//! `configs/recipe-resnet152.toml` spells out the recipe's model.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::{AugmentConfig, IMAGENET_MEAN, IMAGENET_STD, SplitRatios, TransformConfig};
use crate::model::Arch;
use crate::weights::WeightsSpec;

/// What went wrong with a config, where, and (in the message) what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: unknown key '{key}'{}", suggestion_text(.suggestion))]
    UnknownKey {
        origin: String,
        key: String,
        suggestion: Option<String>,
    },
    #[error("{origin}: {key}: {message}")]
    BadValue {
        origin: String,
        key: String,
        message: String,
    },
    #[error("--set {arg}: {message}")]
    BadSet { arg: String, message: String },
    #[error("{}{key}: {message}", origin_prefix(.origin))]
    Invalid {
        /// The file the value came from; empty when `validate()` is called on its own.
        origin: String,
        key: String,
        message: String,
    },
}

fn suggestion_text(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean '{s}'?)"),
        None => String::new(),
    }
}

fn origin_prefix(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!("{origin}: ")
    }
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: String::new(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// The dotted key the error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    fn with_origin(self, new_origin: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { key, message, .. } => ConfigError::Invalid {
                origin: new_origin.to_string(),
                key,
                message,
            },
            other => other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// A whole run. `Default` is the recipe (with the default model, see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

/// `[model]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(with = "arch_serde")]
    pub arch: Arch,
    /// `"imagenet"`, `"none"` (random init) or a path to a .pth/.safetensors state dict
    /// (relative paths are resolved against the current working directory).
    #[serde(with = "weights_serde")]
    pub weights: WeightsSpec,
    /// Dropout probability in front of the new `fc` (the recipe's optional 0.5).
    pub dropout: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: Arch::ResNet18,
            weights: WeightsSpec::ImageNet,
            dropout: 0.0,
        }
    }
}

/// `[data]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The image folder (one sub-folder per class, or train/val/test folders). Required for
    /// training. A relative path is resolved against the current working directory, not the
    /// config file's directory, so `--set data.root=...` and the file mean the same thing.
    pub root: PathBuf,
    /// train : val : test. Either whole-number ratios (`[7, 1, 2]`) or fractions summing to 1
    /// (`[0.7, 0.1, 0.2]`); a table `{ train = 7, val = 1, test = 2 }` is accepted too.
    #[serde(with = "split_serde")]
    pub split: SplitRatios,
    /// Side of the square crop the model sees.
    pub image_size: u32,
    /// Shorter side before the centre crop; unset = `image_size * 8 / 7` (256 for 224).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize: Option<u32>,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Augment the training images (with `[data.augmentation]`); false = train on eval crops.
    pub augment: bool,
    pub augmentation: AugmentConfig,
    /// Loader threads; 0 = one per CPU core.
    pub workers: usize,
    /// Keep decoded, resized images in memory after the first epoch.
    pub cache: bool,
    /// Multi-label targets: a CSV of `path,label1;label2...` (needs `train.loss = "bce"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_label_csv: Option<PathBuf>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            root: PathBuf::new(),
            split: SplitRatios::default(),
            image_size: 224,
            resize: None,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            augment: true,
            augmentation: AugmentConfig::default(),
            workers: 0,
            cache: false,
            multi_label_csv: None,
        }
    }
}

impl DataConfig {
    /// The image transform. Its `augment` part is `[data.augmentation]`; whether training uses it
    /// is `augment` (train with `Mode::Train` when true, `Mode::Eval` when false). Evaluation
    /// always uses `Mode::Eval`, which ignores augmentation.
    pub fn transform(&self) -> TransformConfig {
        TransformConfig {
            image_size: self.image_size,
            resize: self.resize,
            mean: self.mean,
            std: self.std,
            augment: self.augmentation.clone(),
        }
    }

    /// The worker count with 0 resolved to the number of cores.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

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

/// The stages frozen by default: the recipe's "first third of the network", measured in conv
/// layers along the main path and rounded to whole stages (stem, layer1, ...), whichever prefix
/// is closest to a third of the depth. ResNet-18 -> stem + layer1 (5 of 17 convs);
/// ResNet-34/50/101/152 -> stem + layer1 + layer2 (15/34, 22/49, 22/100, 34/151).
/// (The recipe's other example, "the first 100 layers of ResNet-152", is two thirds; set
/// `train.freeze` to block names such as `"layer3.21"` for that.)
pub fn default_freeze(arch: Arch) -> Vec<String> {
    let per_block = match arch.block_kind() {
        crate::model::BlockKind::Basic => 2,
        crate::model::BlockKind::Bottleneck => 3,
    };
    let stages = arch.blocks_per_stage();
    let total: usize = 1 + stages.iter().map(|b| b * per_block).sum::<usize>() + 1; // stem .. fc
    let third = total as f64 / 3.0;
    let mut depth = 1usize; // the stem's conv
    let mut best = (0usize, (depth as f64 - third).abs());
    for (i, blocks) in stages.iter().enumerate().take(3) {
        depth += blocks * per_block;
        let err = (depth as f64 - third).abs();
        if err < best.1 {
            best = (i + 1, err);
        }
    }
    let mut out = vec!["stem".to_string()];
    out.extend((1..=best.0).map(|i| format!("layer{i}")));
    out
}

/// Every group name of an architecture: stem, layer1..4, each block `layerN.i`, head.
pub fn group_names(arch: Arch) -> Vec<String> {
    let mut out = vec!["stem".to_string()];
    for (s, blocks) in arch.blocks_per_stage().iter().enumerate() {
        out.push(format!("layer{}", s + 1));
        out.extend((0..*blocks).map(|i| format!("layer{}.{i}", s + 1)));
    }
    out.push("head".to_string());
    out
}

/// Checks that `name` is a group of `arch`; the error says what the valid names are.
pub fn check_group_name(arch: Arch, name: &str) -> Result<(), String> {
    if group_names(arch).iter().any(|g| g == name) {
        return Ok(());
    }
    let blocks = arch.blocks_per_stage();
    let hint = if let Some(rest) = name.strip_prefix("layer")
        && let Some((stage, block)) = rest.split_once('.')
        && let (Ok(s), Ok(_)) = (stage.parse::<usize>(), block.parse::<usize>())
        && (1..=4).contains(&s)
    {
        format!("{arch} has blocks layer{s}.0 to layer{s}.{}", blocks[s - 1] - 1)
    } else {
        format!(
            "valid groups of {arch} are stem, layer1..layer4, blocks layerN.i (layer1.0..layer1.{}, layer2.0..layer2.{}, \
             layer3.0..layer3.{}, layer4.0..layer4.{}) and head",
            blocks[0] - 1,
            blocks[1] - 1,
            blocks[2] - 1,
            blocks[3] - 1
        )
    };
    Err(format!("unknown group '{name}': {hint}"))
}

// ---------------------------------------------------------------------------------------------
// Enums: serde with lowercase names, FromStr whose errors list the valid values
// ---------------------------------------------------------------------------------------------

/// An enum's value is not one of its names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown {what} '{got}': expected one of {}", .valid.join(", "))]
pub struct UnknownValue {
    pub what: &'static str,
    pub got: String,
    pub valid: Vec<&'static str>,
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { what: $what, got: s.to_string(), valid: Self::NAMES.to_vec() }),
                }
            }
        }
    };
}

string_enum!(
    /// Numeric precision of the model's weights and activations.
    Precision, "precision", { F32 = "f32", F16 = "f16", Bf16 = "bf16" }
);
string_enum!(
    /// `"adamw"` for small data sets, `"sgd"` (+ momentum) for large ones, as the recipe says.
    OptimizerKind, "optimizer", { AdamW = "adamw", Sgd = "sgd" }
);
string_enum!(
    /// The LR schedule shared by every group.
    ScheduleKind, "schedule", { Cosine = "cosine", Constant = "constant", Step = "step" }
);
string_enum!(
    /// `"ce"` cross-entropy, `"focal"` focal loss, `"bce"` binary cross-entropy with logits.
    LossKind, "loss", { Ce = "ce", Focal = "focal", Bce = "bce" }
);
string_enum!(
    /// BatchNorm in frozen groups.
    FrozenBn, "frozen_bn", { Fixed = "fixed", Train = "train" }
);
string_enum!(
    /// The validation metric early stopping (and "best" checkpoint) watches.
    EarlyStopMetric, "early_stop_metric", { ValLoss = "val_loss", ValAccuracy = "val_accuracy", ValF1 = "val_f1" }
);

impl EarlyStopMetric {
    /// Whether larger values are better (accuracy, F1) or smaller (loss).
    pub fn higher_is_better(self) -> bool {
        !matches!(self, EarlyStopMetric::ValLoss)
    }

    /// Whether `value` beats `best` by more than `min_delta` in this metric's direction.
    pub fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        if self.higher_is_better() {
            value > best + min_delta
        } else {
            value < best - min_delta
        }
    }
}

/// Where to train: `"auto"` (CUDA if built with it and present, else CPU), `"cpu"`, `"cuda"`
/// (= `"cuda:0"`) or `"cuda:N"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    Auto,
    Cpu,
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => f.write_str("auto"),
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl FromStr for Device {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || UnknownValue {
            what: "device",
            got: s.to_string(),
            valid: vec!["auto", "cpu", "cuda", "cuda:N"],
        };
        match t.as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(bad),
        }
    }
}

impl Serialize for Device {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Class weights for `ce` and `focal`: `"none"`, `"auto"` (sklearn's "balanced",
/// n_samples / (n_classes * count), from the training split) or one weight per class.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeights {
    None,
    Auto,
    Given(Vec<f64>),
}

impl Serialize for ClassWeights {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ClassWeights::None => s.serialize_str("none"),
            ClassWeights::Auto => s.serialize_str("auto"),
            ClassWeights::Given(w) => w.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ClassWeights {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ClassWeights;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"none\", \"auto\" or a list of numbers, one per class")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ClassWeights, E> {
                match v.trim().to_ascii_lowercase().as_str() {
                    "none" => Ok(ClassWeights::None),
                    "auto" | "balanced" => Ok(ClassWeights::Auto),
                    _ => Err(E::custom(format!(
                        "unknown class_weights '{v}': expected \"none\", \"auto\" or a list of numbers"
                    ))),
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ClassWeights, A::Error> {
                let mut w = Vec::new();
                while let Some(x) = seq.next_element::<f64>()? {
                    w.push(x);
                }
                Ok(ClassWeights::Given(w))
            }
        }
        d.deserialize_any(V)
    }
}

mod arch_serde {
    use super::*;

    pub fn serialize<S: Serializer>(a: &Arch, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(a.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod weights_serde {
    use super::*;

    pub fn serialize<S: Serializer>(w: &WeightsSpec, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(w)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<WeightsSpec, D::Error> {
        let s = String::deserialize(d)?;
        match s.parse::<WeightsSpec>() {
            Ok(w) => Ok(w),
            Err(never) => match never {},
        }
    }
}

/// `data.split` as `[train, val, test]` (written that way) or `{ train, val, test }`.
mod split_serde {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List([f64; 3]),
        Table(SplitRatios),
    }

    pub fn serialize<S: Serializer>(r: &SplitRatios, s: S) -> Result<S::Ok, S::Error> {
        [r.train, r.val, r.test].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SplitRatios, D::Error> {
        match Either::deserialize(d) {
            Ok(Either::List([train, val, test])) => Ok(SplitRatios { train, val, test }),
            Ok(Either::Table(r)) => Ok(r),
            Err(_) => Err(serde::de::Error::custom(
                "expected [train, val, test], e.g. [7, 1, 2] or [0.7, 0.1, 0.2]",
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading, --set, unknown keys
// ---------------------------------------------------------------------------------------------

impl RunConfig {
    /// Reads, checks and validates a config file.
    pub fn load(path: impl AsRef<Path>) -> Result<RunConfig, ConfigError> {
        Self::load_with_sets(path, &[] as &[&str])
    }

    /// `load` with `--set key=value` overrides applied before anything is checked.
    pub fn load_with_sets<S: AsRef<str>>(path: impl AsRef<Path>, sets: &[S]) -> Result<RunConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str_with_sets(&text, &path.display().to_string(), sets)
    }

    /// Parses `text` (named `source_name` in errors), applies `sets` (`"train.lr=3e-4"`),
    /// fills arch-dependent defaults, rejects unknown keys, deserialises and validates.
    pub fn from_toml_str_with_sets<S: AsRef<str>>(
        text: &str,
        source_name: &str,
        sets: &[S],
    ) -> Result<RunConfig, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
            origin: source_name.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut root = toml::Value::Table(table);
        let mut set_keys = Vec::new();
        for set in sets {
            let (path, value) = parse_set(set.as_ref())?;
            insert_at(&mut root, &path, value).map_err(|message| ConfigError::BadSet {
                arg: set.as_ref().to_string(),
                message,
            })?;
            set_keys.push((path.join("."), set.as_ref().to_string()));
        }
        fill_defaults(&mut root);
        from_value(root, source_name, &set_keys)
    }

    /// Applies one `--set key=value` to an already loaded config and re-validates it.
    /// Note: `train.freeze` is already explicit here, so changing `model.arch` this way keeps the
    /// old freeze list; prefer `load_with_sets` when starting from a file.
    pub fn apply_set(&mut self, set: &str) -> Result<(), ConfigError> {
        let mut root = toml::Value::try_from(&*self).map_err(|e| ConfigError::BadSet {
            arg: set.to_string(),
            message: format!("cannot re-read the current config: {e}"),
        })?;
        let (path, value) = parse_set(set)?;
        insert_at(&mut root, &path, value).map_err(|message| ConfigError::BadSet {
            arg: set.to_string(),
            message,
        })?;
        let key = path.join(".");
        *self = from_value(root, "config", &[(key, set.to_string())])?;
        Ok(())
    }

    /// The resolved config as TOML; `from_toml_str_with_sets` reads it back to an equal config.
    pub fn to_toml_string(&self) -> String {
        // Serialisation cannot fail: every field is a TOML-representable type and the only
        // `Option`s are skipped when empty.
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise config: {e}\n"))
    }

    /// Checks every value against its allowed range. Errors name the dotted key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let m = &self.model;
        let d = &self.data;
        let t = &self.train;
        let bad = |key: &str, msg: String| Err(ConfigError::invalid(key, msg));

        if !(0.0..1.0).contains(&m.dropout) {
            return bad("model.dropout", format!("must be in [0, 1), got {}", m.dropout));
        }

        if d.root.as_os_str().is_empty() {
            return bad(
                "data.root",
                "is not set: name the image folder in [data] or pass --set data.root=DIR".into(),
            );
        }
        validate_split(&d.split, t.early_stop_patience)?;
        if let Err(e) = d.transform().validate() {
            return Err(transform_error(&e.to_string()));
        }
        if d.multi_label_csv.is_some() && t.loss != LossKind::Bce {
            return bad(
                "train.loss",
                format!("data.multi_label_csv needs train.loss = \"bce\", got \"{}\"", t.loss),
            );
        }

        if t.epochs < 1 {
            return bad("train.epochs", "must be at least 1".into());
        }
        if t.batch_size < 1 {
            return bad("train.batch_size", "must be at least 1".into());
        }
        positive("train.lr", t.lr)?;
        positive("train.head_lr", t.head_lr)?;
        for (group, lr) in &t.group_lr {
            let key = format!("train.group_lr.{group}");
            if group == "head" {
                return bad(&key, "the head's LR is train.head_lr; remove this entry".into());
            }
            check_group_name(m.arch, group).map_err(|e| ConfigError::invalid(&key, e))?;
            positive(&key, *lr)?;
        }
        if !(0.0..1.0).contains(&t.momentum) {
            return bad("train.momentum", format!("must be in [0, 1), got {}", t.momentum));
        }
        for (i, b) in t.betas.iter().enumerate() {
            if !(0.0..1.0).contains(b) {
                return bad(&format!("train.betas[{i}]"), format!("must be in [0, 1), got {b}"));
            }
        }
        positive("train.eps", t.eps)?;
        non_negative("train.weight_decay", t.weight_decay)?;
        non_negative("train.min_lr", t.min_lr)?;
        if t.schedule == ScheduleKind::Cosine {
            let smallest = t
                .group_lr
                .values()
                .copied()
                .chain([t.lr, t.head_lr])
                .fold(f64::INFINITY, f64::min);
            if t.min_lr >= smallest {
                return bad(
                    "train.min_lr",
                    format!(
                        "({}) must be below every base LR (smallest is {smallest}) for a cosine schedule",
                        t.min_lr
                    ),
                );
            }
        }
        if t.t_max == Some(0) {
            return bad(
                "train.t_max",
                "must be at least 1 epoch (or unset for train.epochs)".into(),
            );
        }
        if t.schedule == ScheduleKind::Step {
            if t.step_size < 1 {
                return bad("train.step_size", "must be at least 1 epoch".into());
            }
            positive("train.gamma", t.gamma)?;
        }
        non_negative("train.clip_grad_norm", t.clip_grad_norm)?;
        if !(0.0..=1.0).contains(&t.label_smoothing) {
            return bad(
                "train.label_smoothing",
                format!("must be in [0, 1], got {}", t.label_smoothing),
            );
        }
        if t.label_smoothing > 0.0 && t.loss != LossKind::Ce {
            return bad(
                "train.label_smoothing",
                format!("applies to train.loss = \"ce\" only (loss is \"{}\")", t.loss),
            );
        }
        non_negative("train.focal_gamma", t.focal_gamma)?;
        match &t.class_weights {
            ClassWeights::None => {}
            _ if t.loss == LossKind::Bce => {
                return bad(
                    "train.class_weights",
                    "apply to \"ce\" and \"focal\" losses, not \"bce\"".into(),
                );
            }
            ClassWeights::Auto => {}
            ClassWeights::Given(w) => {
                if w.is_empty() || w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().all(|x| *x == 0.0) {
                    return bad(
                        "train.class_weights",
                        format!("must be one finite, non-negative weight per class, not all zero; got {w:?}"),
                    );
                }
            }
        }
        for (i, g) in t.freeze.iter().enumerate() {
            check_group_name(m.arch, g).map_err(|e| ConfigError::invalid(&format!("train.freeze[{i}]"), e))?;
        }
        non_negative("train.early_stop_min_delta", t.early_stop_min_delta)?;
        if t.log_every < 1 {
            return bad("train.log_every", "must be at least 1 step".into());
        }
        Ok(())
    }
}

/// Re-keys a data-module validation message ("invalid data settings: augment.hflip is ...")
/// to the config's dotted key (`data.augmentation.hflip`).
fn transform_error(message: &str) -> ConfigError {
    let msg = message.split_once(": ").map_or(message, |(_, rest)| rest);
    // The data module names its keys relative to its own struct.
    let msg = msg.replace("augment.", "data.augmentation.");
    let key = msg
        .split_whitespace()
        .find(|w| w.starts_with("data."))
        .map(|w| w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .unwrap_or("data")
        .to_string();
    let rest = msg.strip_prefix(&key).map(str::trim_start).unwrap_or(&msg).to_string();
    ConfigError::invalid(&key, rest)
}

fn positive(key: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("must be a finite number > 0, got {v}"),
        ))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), ConfigError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("must be a finite number >= 0, got {v}"),
        ))
    }
}

fn validate_split(r: &SplitRatios, patience: u32) -> Result<(), ConfigError> {
    let v = [r.train, r.val, r.test];
    let bad = |m: String| Err(ConfigError::invalid("data.split", m));
    if v.iter().any(|x| !x.is_finite() || *x < 0.0) || r.train <= 0.0 {
        return bad(format!("ratios must be >= 0 with train > 0, got {v:?}"));
    }
    let sum: f64 = v.iter().sum();
    // All parts <= 1 means fractions, which must add up; otherwise they are ratios like 7:1:2.
    if v.iter().all(|x| *x <= 1.0) && (sum - 1.0).abs() > 1e-6 {
        return bad(format!(
            "fractions {v:?} sum to {sum}; make them sum to 1, or give ratios such as [7, 1, 2]"
        ));
    }
    if r.val == 0.0 && patience > 0 {
        return bad("has no validation part (val = 0) but train.early_stop_patience needs one".into());
    }
    Ok(())
}

/// Splits `key=value`, parses the key as a TOML dotted key and the value as a TOML value
/// (a bare word that is not valid TOML is taken as a string).
fn parse_set(arg: &str) -> Result<(Vec<String>, toml::Value), ConfigError> {
    let bad = |message: String| ConfigError::BadSet {
        arg: arg.to_string(),
        message,
    };
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected key=value, e.g. --set train.lr=3e-4".into()))?;
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(bad(
            "the key is empty; expected key=value, e.g. --set train.lr=3e-4".into()
        ));
    }
    // Let TOML split the key so quoted parts work: train.group_lr."layer4.1"=3e-4.
    let doc: toml::Table = format!("{key} = 0")
        .parse()
        .map_err(|_| bad(format!("'{key}' is not a dotted key such as train.lr")))?;
    let mut path = Vec::new();
    let mut node = &doc;
    loop {
        let (k, v) = node.iter().next().ok_or_else(|| bad("empty key".into()))?;
        path.push(k.clone());
        match v {
            toml::Value::Table(t) => node = t,
            _ => break,
        }
    }
    let value = match format!("v = {value}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").ok_or_else(|| bad("no value".into()))?,
        Err(e) => {
            let looks_structured = value.starts_with(['[', '{', '"', '\'']);
            if looks_structured || value.is_empty() {
                return Err(bad(format!("the value is not valid TOML: {}", e.message().trim_end())));
            }
            toml::Value::String(value.to_string())
        }
    };
    Ok((path, value))
}

/// Puts `value` at `path`, creating tables on the way.
fn insert_at(root: &mut toml::Value, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut node = root;
    for (i, p) in parents.iter().enumerate() {
        let table = node
            .as_table_mut()
            .ok_or_else(|| format!("'{}' is not a table", path[..i].join(".")))?;
        node = table
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    let table = node
        .as_table_mut()
        .ok_or_else(|| format!("'{}' is not a table", parents.join(".")))?;
    table.insert(last.clone(), value);
    Ok(())
}

/// Defaults that depend on other keys: `train.freeze` follows `model.arch`.
fn fill_defaults(root: &mut toml::Value) {
    let Some(top) = root.as_table_mut() else { return };
    let arch = match top.get("model").and_then(|m| m.get("arch")) {
        None => ModelConfig::default().arch,
        Some(v) => match v.as_str().map(str::parse::<Arch>) {
            Some(Ok(a)) => a,
            _ => return, // deserialisation reports the bad arch
        },
    };
    let Some(train) = top
        .entry("train")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
    else {
        return;
    };
    if !train.contains_key("freeze") {
        let list = default_freeze(arch).into_iter().map(toml::Value::String).collect();
        train.insert("freeze".into(), toml::Value::Array(list));
    }
}

fn from_value(root: toml::Value, source: &str, set_keys: &[(String, String)]) -> Result<RunConfig, ConfigError> {
    // Which --set a key came from, so errors blame the command line rather than the file.
    let origin_of = |key: &str| {
        let key = key.split('[').next().unwrap_or(key);
        set_keys
            .iter()
            .rev()
            .find(|(k, _)| key == k || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}.")))
            .map_or_else(|| source.to_string(), |(_, arg)| format!("--set {arg}"))
    };
    check_keys(&root, &schema(), "", &|key, suggestion| ConfigError::UnknownKey {
        origin: origin_of(key),
        key: key.to_string(),
        suggestion,
    })?;
    let cfg: RunConfig = serde_path_to_error::deserialize(root).map_err(|e| {
        let key = e.path().to_string();
        let message = e.into_inner().message().trim_end().to_string();
        ConfigError::BadValue {
            origin: origin_of(&key),
            key,
            message,
        }
    })?;
    cfg.validate().map_err(|e| {
        let origin = e.key().map_or_else(|| source.to_string(), &origin_of);
        e.with_origin(&origin)
    })?;
    Ok(cfg)
}

/// The shape of a valid config: which keys exist and which are tables.
#[derive(Debug)]
enum Schema {
    Leaf,
    Table(BTreeMap<String, Schema>),
    /// A map with free keys (`train.group_lr`).
    AnyKeys,
}

/// Built from a serialised example with every optional key set, so it follows the structs.
fn schema() -> Schema {
    let mut example = RunConfig::default();
    example.data.resize = Some(1);
    example.data.multi_label_csv = Some(PathBuf::from("x"));
    example.train.t_max = Some(1);
    example.train.group_lr.insert("layer4".into(), 1.0);
    fn build(v: &toml::Value, path: &str) -> Schema {
        match v {
            toml::Value::Table(t) if path == "train.group_lr" => {
                let _ = t;
                Schema::AnyKeys
            }
            toml::Value::Table(t) => Schema::Table(
                t.iter()
                    .map(|(k, v)| {
                        let p = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        (k.clone(), build(v, &p))
                    })
                    .collect(),
            ),
            _ => Schema::Leaf,
        }
    }
    match toml::Value::try_from(&example) {
        Ok(v) => build(&v, ""),
        Err(_) => Schema::AnyKeys, // unreachable in practice; serde still denies unknown fields
    }
}

fn check_keys(
    v: &toml::Value,
    schema: &Schema,
    path: &str,
    err: &dyn Fn(&str, Option<String>) -> ConfigError,
) -> Result<(), ConfigError> {
    let (toml::Value::Table(t), Schema::Table(known)) = (v, schema) else {
        return Ok(()); // leaves and free maps: their types are checked by serde
    };
    for (k, child) in t {
        let full = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        match known.get(k) {
            Some(s) => check_keys(child, s, &full, err)?,
            None => return Err(err(&full, suggest(&full, k, known))),
        }
    }
    Ok(())
}

/// A close key among the siblings, else the same key in another section.
fn suggest(full: &str, key: &str, siblings: &BTreeMap<String, Schema>) -> Option<String> {
    let parent = full.strip_suffix(key).unwrap_or("");
    let limit = key.len().div_ceil(3).clamp(1, 3);
    let close = siblings
        .keys()
        .map(|s| (edit_distance(key, s), s))
        .filter(|(d, _)| *d <= limit)
        .min();
    if let Some((_, s)) = close {
        return Some(format!("{parent}{s}"));
    }
    let Schema::Table(top) = schema() else { return None };
    top.iter().find_map(|(section, s)| match s {
        Schema::Table(keys) if keys.contains_key(key) && !full.starts_with(&format!("{section}.")) => {
            Some(format!("{section}.{key}"))
        }
        _ => None,
    })
}

/// Levenshtein distance (keys are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str, sets: &[&str]) -> Result<RunConfig, ConfigError> {
        RunConfig::from_toml_str_with_sets(text, "test.toml", sets)
    }

    const MINIMAL: &str = "[data]\nroot = \"data/x\"\n";

    #[test]
    fn every_shipped_config_loads_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("configs/ exists") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let cfg = RunConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
                // And the resolved form reads back to the same config.
                let again = load_str(&cfg.to_toml_string(), &[]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(cfg, again, "{}", path.display());
                n += 1;
            }
        }
        assert!(n >= 3, "expected at least 3 configs, found {n}");
    }

    #[test]
    fn recipe_config_has_the_recipe_values() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/recipe-resnet152.toml");
        let c = RunConfig::load(path).unwrap();
        assert_eq!(c.model.arch, Arch::ResNet152);
        assert_eq!(c.model.weights, WeightsSpec::ImageNet);
        assert_eq!(c.model.dropout, 0.5);
        assert_eq!((c.data.image_size, c.data.transform().resize_size()), (224, 256));
        assert_eq!(
            (c.data.split.train, c.data.split.val, c.data.split.test),
            (7.0, 1.0, 2.0)
        );
        let t = &c.train;
        assert_eq!(t.optimizer, OptimizerKind::AdamW);
        assert_eq!(
            (t.lr, t.head_lr, t.min_lr, t.weight_decay, t.clip_grad_norm),
            (1e-4, 1e-3, 1e-6, 1e-4, 1.0)
        );
        assert_eq!(
            (t.schedule, t.t_max_epochs(), t.unfreeze_every),
            (ScheduleKind::Cosine, 50, 5)
        );
        assert_eq!(t.betas, [0.9, 0.999]);
        assert_eq!(t.freeze, default_freeze(Arch::ResNet152));
    }

    #[test]
    fn defaults_are_the_recipe() {
        let c = load_str(MINIMAL, &[]).unwrap();
        let t = &c.train;
        assert_eq!(c.model.arch, Arch::ResNet18);
        assert_eq!(c.model.weights, WeightsSpec::ImageNet);
        assert_eq!((t.lr, t.head_lr, t.min_lr), (1e-4, 1e-3, 1e-6));
        assert_eq!((t.epochs, t.t_max_epochs(), t.batch_size, t.seed), (50, 50, 32, 42));
        assert_eq!(t.freeze, vec!["stem", "layer1"]);
        assert_eq!(c.data.image_size, 224);
        assert!(c.data.augment);
    }

    #[test]
    fn default_freeze_is_about_a_third_of_the_depth() {
        assert_eq!(default_freeze(Arch::ResNet18), ["stem", "layer1"]);
        for a in [Arch::ResNet34, Arch::ResNet50, Arch::ResNet101, Arch::ResNet152] {
            assert_eq!(default_freeze(a), ["stem", "layer1", "layer2"], "{a}");
        }
    }

    #[test]
    fn default_freeze_follows_the_arch_unless_given() {
        let c = load_str(MINIMAL, &["model.arch=resnet50"]).unwrap();
        assert_eq!(c.train.freeze, ["stem", "layer1", "layer2"]);
        let c = load_str(MINIMAL, &["model.arch=resnet50", "train.freeze=[]"]).unwrap();
        assert!(c.train.freeze.is_empty());
        let c = load_str(&format!("{MINIMAL}[train]\nfreeze = [\"layer4.1\"]\n"), &[]).unwrap();
        assert_eq!(c.train.freeze, ["layer4.1"]);
    }

    #[test]
    fn unknown_keys_name_the_file_the_dotted_key_and_a_suggestion() {
        let e = load_str(&format!("{MINIMAL}[train]\nlrr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml: unknown key 'train.lrr' (did you mean 'train.lr'?)"
        );
        let e = load_str(&format!("{MINIMAL}[model]\nlr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml: unknown key 'model.lr' (did you mean 'train.lr'?)"
        );
        let e = load_str(&format!("{MINIMAL}[trian]\nlr = 1e-3\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("trian"));
        assert!(e.to_string().contains("did you mean 'train'"), "{e}");
        let e = load_str(&format!("{MINIMAL}[data.augmentation]\nhflp = 0.1\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("data.augmentation.hflp"));
        assert!(e.to_string().contains("'data.augmentation.hflip'"), "{e}");
        let e = load_str(MINIMAL, &["train.zzzzzz=1"]).unwrap_err();
        assert_eq!(e.to_string(), "--set train.zzzzzz=1: unknown key 'train.zzzzzz'");
    }

    #[test]
    fn type_errors_name_the_key() {
        let e = load_str(&format!("{MINIMAL}[train]\nlr = \"fast\"\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("train.lr"), "{e}");
        assert!(e.to_string().starts_with("test.toml: train.lr: "), "{e}");
        let e = load_str(MINIMAL, &["train.optimizer=adam"]).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("--set train.optimizer=adam: train.optimizer:"), "{s}");
        assert!(s.contains("adamw") && s.contains("sgd"), "{s}");
        let e = load_str(MINIMAL, &["model.arch=resnet20"]).unwrap_err();
        assert!(e.to_string().contains("resnet152"), "{e}");
        let e = load_str(MINIMAL, &["train.device=tpu"]).unwrap_err();
        assert!(e.to_string().contains("cuda:N"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let e = load_str("[train\nlr = 1", &[]).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }));
        assert!(e.to_string().starts_with("test.toml: not valid TOML"), "{e}");
    }

    #[test]
    fn sets_take_toml_values_and_bare_words() {
        let c = load_str(
            MINIMAL,
            &[
                "train.lr=3e-4",
                "model.arch=\"resnet34\"",
                "model.weights=none",
                "train.freeze=[\"stem\"]",
                "train.device=cuda:1",
                "data.split=[0.8, 0.1, 0.1]",
                "train.group_lr.layer4=2e-4",
                "train.group_lr.\"layer4.1\"=5e-4",
                "data.root=other dir/x",
                "data.augment=false",
                "train.class_weights=[1, 2.5]",
            ],
        )
        .unwrap();
        assert_eq!(c.train.lr, 3e-4);
        assert_eq!(c.model.arch, Arch::ResNet34);
        assert_eq!(c.model.weights, WeightsSpec::None);
        assert_eq!(c.train.freeze, ["stem"]);
        assert_eq!(c.train.device, Device::Cuda(1));
        assert_eq!(c.data.split.train, 0.8);
        assert_eq!(c.data.root, PathBuf::from("other dir/x"));
        assert!(!c.data.augment);
        assert_eq!(c.train.class_weights, ClassWeights::Given(vec![1.0, 2.5]));
        assert_eq!(c.train.base_lr_for("layer4.1"), 5e-4);
        assert_eq!(c.train.base_lr_for("layer4.0"), 2e-4);
        assert_eq!(c.train.base_lr_for("layer3.0"), 3e-4);
        assert_eq!(c.train.base_lr_for("head"), 1e-3);
    }

    #[test]
    fn later_sets_win_and_sets_beat_the_file() {
        let c = load_str(
            &format!("{MINIMAL}[train]\nepochs = 9\n"),
            &["train.epochs=3", "train.epochs=4"],
        )
        .unwrap();
        assert_eq!(c.train.epochs, 4);
    }

    #[test]
    fn malformed_sets_are_errors() {
        for s in ["train.lr", "=3", "train.lr=[1,", "train.lr=\"x"] {
            let e = load_str(MINIMAL, &[s]).unwrap_err();
            assert!(matches!(e, ConfigError::BadSet { .. }), "{s}: {e}");
        }
        let e = load_str(&format!("{MINIMAL}[train]\nlr = 1.0\n"), &["train.lr.x=1"]).unwrap_err();
        assert!(e.to_string().contains("'train.lr' is not a table"), "{e}");
        let e = load_str(MINIMAL, &["train.lr.x=1"]).unwrap_err();
        assert!(e.to_string().starts_with("--set train.lr.x=1: train.lr: "), "{e}");
    }

    #[test]
    fn apply_set_edits_and_revalidates() {
        let mut c = load_str(MINIMAL, &[]).unwrap();
        c.apply_set("train.head_lr=5e-3").unwrap();
        assert_eq!(c.train.head_lr, 5e-3);
        let before = c.clone();
        let e = c.apply_set("train.lr=-1").unwrap_err();
        assert_eq!(e.key(), Some("train.lr"));
        assert!(e.to_string().contains("> 0"), "{e}");
        assert_eq!(c, before, "a failed set leaves the config as it was");
    }

    #[test]
    fn validation_names_key_and_range() {
        let cases: &[(&str, &str, &str)] = &[
            ("train.lr=0", "train.lr", "> 0"),
            ("train.epochs=0", "train.epochs", "at least 1"),
            ("train.batch_size=0", "train.batch_size", "at least 1"),
            ("model.dropout=1.0", "model.dropout", "[0, 1)"),
            ("data.split=[0.7, 0.1, 0.1]", "data.split", "sum to 1"),
            ("data.split=[7, -1, 2]", "data.split", ">= 0"),
            ("train.freeze=[\"layer5\"]", "train.freeze[0]", "layer1..layer4"),
            ("train.freeze=[\"layer1.2\"]", "train.freeze[0]", "layer1.0 to layer1.1"),
            ("train.label_smoothing=1.5", "train.label_smoothing", "[0, 1]"),
            ("train.momentum=1.0", "train.momentum", "[0, 1)"),
            ("train.min_lr=1e-4", "train.min_lr", "below every base LR"),
            ("train.group_lr.head=1e-3", "train.group_lr.head", "head_lr"),
            ("train.group_lr.layer9=1e-3", "train.group_lr.layer9", "unknown group"),
            ("data.image_size=0", "data.image_size", "at least 1"),
            (
                "data.augmentation.hflip=2",
                "data.augmentation.hflip",
                "probability in [0, 1]",
            ),
            ("data.resize=100", "data.resize", "smaller than data.image_size"),
            ("train.class_weights=[]", "train.class_weights", "one finite"),
            ("train.log_every=0", "train.log_every", "at least 1"),
        ];
        for (set, key, needle) in cases {
            let e = load_str(MINIMAL, &[set]).unwrap_err();
            assert_eq!(e.key(), Some(*key), "{set}: {e}");
            let s = e.to_string();
            assert!(s.contains(needle), "{set}: {s}");
            assert!(s.starts_with(&format!("--set {set}: ")), "{set}: {s}");
        }
        let e = load_str("", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test.toml: data.root: is not set: name the image folder in [data] or pass --set data.root=DIR"
        );
        let e = load_str(MINIMAL, &["train.label_smoothing=0.1", "train.loss=\"focal\""]).unwrap_err();
        assert_eq!(e.key(), Some("train.label_smoothing"));
        let e = load_str(MINIMAL, &["data.multi_label_csv=\"l.csv\""]).unwrap_err();
        assert_eq!(e.key(), Some("train.loss"));
    }

    #[test]
    fn split_accepts_list_table_and_ratios() {
        let c = load_str(MINIMAL, &["data.split={ train = 8, val = 1, test = 1 }"]).unwrap();
        assert_eq!(c.data.split.train, 8.0);
        let c = load_str(MINIMAL, &["data.split=[0.7, 0.1, 0.2]"]).unwrap();
        assert_eq!(c.data.split.test, 0.2);
        let e = load_str(MINIMAL, &["data.split=[1, 2]"]).unwrap_err();
        assert_eq!(e.key(), Some("data.split"));
    }

    #[test]
    fn resolved_config_round_trips_with_every_option_set() {
        let c = load_str(
            MINIMAL,
            &[
                "data.resize=40",
                "data.image_size=32",
                "train.t_max=7",
                "train.group_lr.layer3=3e-4",
                "train.class_weights=\"auto\"",
                "train.device=\"cuda:2\"",
                "train.precision=\"bf16\"",
                "train.schedule=\"step\"",
                "model.weights=\"some/file.safetensors\"",
                "train.early_stop_metric=\"val_f1\"",
            ],
        )
        .unwrap();
        let text = c.to_toml_string();
        let back = load_str(&text, &[]).unwrap();
        assert_eq!(c, back, "{text}");
        assert!(text.contains("weights = \"some/file.safetensors\""), "{text}");
    }

    #[test]
    fn enums_parse_case_insensitively_and_list_valid_values() {
        assert_eq!("SGD".parse::<OptimizerKind>(), Ok(OptimizerKind::Sgd));
        assert_eq!("bf16".parse::<Precision>(), Ok(Precision::Bf16));
        let e = "adam".parse::<OptimizerKind>().unwrap_err();
        assert_eq!(e.to_string(), "unknown optimizer 'adam': expected one of adamw, sgd");
        assert_eq!("cuda".parse::<Device>(), Ok(Device::Cuda(0)));
        assert_eq!(
            "cuda:3".parse::<Device>().map(|d| d.to_string()),
            Ok("cuda:3".to_string())
        );
        assert!("cuda:x".parse::<Device>().is_err());
        for s in ScheduleKind::NAMES
            .iter()
            .chain(LossKind::NAMES)
            .chain(EarlyStopMetric::NAMES)
        {
            assert!(
                s.parse::<ScheduleKind>().is_ok()
                    || s.parse::<LossKind>().is_ok()
                    || s.parse::<EarlyStopMetric>().is_ok()
            );
        }
        assert!(EarlyStopMetric::ValF1.higher_is_better() && !EarlyStopMetric::ValLoss.higher_is_better());
    }

    #[test]
    fn group_names_cover_stages_and_blocks() {
        let g = group_names(Arch::ResNet152);
        assert_eq!(g.len(), 1 + 4 + (3 + 8 + 36 + 3) + 1);
        assert!(check_group_name(Arch::ResNet152, "layer3.35").is_ok());
        assert!(check_group_name(Arch::ResNet152, "layer3.36").is_err());
        assert!(check_group_name(Arch::ResNet18, "head").is_ok());
    }

    #[test]
    fn edit_distance_works() {
        assert_eq!(edit_distance("lrr", "lr"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn transform_carries_the_data_keys() {
        let c = load_str(MINIMAL, &["data.image_size=32", "data.augmentation.rotation=5"]).unwrap();
        let t = c.data.transform();
        assert_eq!((t.image_size, t.resize_size(), t.augment.rotation), (32, 37, 5.0));
    }

    #[test]
    fn early_stop_improvement_respects_direction_and_delta() {
        use EarlyStopMetric::*;
        assert!(ValLoss.improves(0.5, 0.6, 0.0));
        assert!(!ValLoss.improves(0.55, 0.6, 0.1));
        assert!(ValAccuracy.improves(0.7, 0.6, 0.05));
        assert!(!ValF1.improves(0.6, 0.6, 0.0));
        assert!(!ValLoss.improves(f64::NAN, 0.6, 0.0));
    }
}
