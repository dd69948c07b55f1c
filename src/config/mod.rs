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

mod data;
mod enums;
mod error;
mod groups;
mod load;
mod model;
mod overrides;
#[cfg(test)]
mod test_support;
mod train;
mod unknown_keys;
mod validate;

use serde::{Deserialize, Serialize};

pub use data::DataConfig;
pub use enums::{
    ClassWeights, Device, EarlyStopMetric, FrozenBn, LossKind, OptimizerKind, Precision, ScheduleKind, UnknownValue,
};
pub use error::ConfigError;
pub use groups::{check_group_name, default_freeze, group_names};
pub use model::ModelConfig;
pub use train::TrainConfig;

/// A whole run. `Default` is the recipe (with the default model, see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::test_support::{MINIMAL, load_str};
    use super::*;
    use crate::model::Arch;
    use crate::weights::WeightsSpec;

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
}
