use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use burn::prelude::*;

use super::error::WeightError;
use super::file::WeightFile;
use super::imagenet;
use super::load::{LoadReport, load_weights};
use crate::model::{Arch, ResNet, ResNetConfig};

/// Where a model's starting weights come from (`model.weights` in a config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsSpec {
    /// torchvision's ImageNet-1k weights, downloaded once into the cache.
    ImageNet,
    /// Random initialisation, as torchvision's constructors do it.
    None,
    /// A `.pth` or `.safetensors` state dict.
    File(PathBuf),
}

impl FromStr for WeightsSpec {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "imagenet" => WeightsSpec::ImageNet,
            "none" | "" => WeightsSpec::None,
            path => WeightsSpec::File(PathBuf::from(path)),
        })
    }
}

impl fmt::Display for WeightsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsSpec::ImageNet => f.write_str("imagenet"),
            WeightsSpec::None => f.write_str("none"),
            WeightsSpec::File(p) => write!(f, "{}", p.display()),
        }
    }
}

impl WeightsSpec {
    /// The file to read, fetching ImageNet weights if needed; `None` for random init.
    pub fn resolve(&self, arch: Arch) -> Result<Option<PathBuf>, WeightError> {
        match self {
            WeightsSpec::ImageNet => imagenet::fetch(arch).map(Some),
            WeightsSpec::None => Ok(None),
            WeightsSpec::File(p) => Ok(Some(p.clone())),
        }
    }
}

/// Builds `arch` (with `dropout` before `fc`) from `spec`, with `num_classes` classes or, when
/// not given, as many as the weight file's classifier has (1000 for random initialisation).
pub fn open_model<B: Backend>(
    arch: Arch,
    num_classes: Option<usize>,
    dropout: f64,
    spec: &WeightsSpec,
    device: &B::Device,
) -> Result<(ResNet<B>, LoadReport), WeightError> {
    let mut config = ResNetConfig::new(arch, num_classes.unwrap_or(1000)).with_dropout(dropout);
    match spec.resolve(arch)? {
        None => Ok((config.init(device), LoadReport::default())),
        Some(path) => {
            let file = WeightFile::open(path)?;
            if num_classes.is_none()
                && let Some(fc) = file.get("fc.weight")
            {
                config.num_classes = fc.shape[0];
            }
            load_weights(config.init(device), &file)
        }
    }
}
