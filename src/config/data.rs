//! `[data]`: where the images are, how they are split, and the transform the model sees.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::{AugmentConfig, IMAGENET_MEAN, IMAGENET_STD, SplitRatios, TransformConfig};

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

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, load_str};

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
    fn transform_carries_the_data_keys() {
        let c = load_str(MINIMAL, &["data.image_size=32", "data.augmentation.rotation=5"]).unwrap();
        let t = c.data.transform();
        assert_eq!((t.image_size, t.resize_size(), t.augment.rotation), (32, 37, 5.0));
    }
}
