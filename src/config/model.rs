//! `[model]`: the architecture, its starting weights and the head's dropout.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Arch;
use crate::weights::WeightsSpec;

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
