//! The small enums of the config: serde with lowercase names, `FromStr` whose errors list the
//! valid values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// What the convolutions compute in: `f16`/`bf16` are mixed precision (weights stay f32).
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
    EarlyStopMetric, "early_stop_metric", { ValLoss = "val_loss", ValAccuracy = "val_accuracy", ValF1 = "val_f1", ValAuc = "val_auc" }
);

impl EarlyStopMetric {
    /// Whether larger values are better (accuracy, F1, AUC) or smaller (loss).
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn early_stop_improvement_respects_direction_and_delta() {
        use EarlyStopMetric::*;
        assert!(ValLoss.improves(0.5, 0.6, 0.0));
        assert!(!ValLoss.improves(0.55, 0.6, 0.1));
        assert!(ValAccuracy.improves(0.7, 0.6, 0.05));
        assert!(!ValF1.improves(0.6, 0.6, 0.0));
        assert!(!ValLoss.improves(f64::NAN, 0.6, 0.0));
    }
}
