//! `RunConfig::validate`: range and consistency checks whose errors name the dotted key.

use super::{ClassWeights, ConfigError, LossKind, RunConfig, ScheduleKind, check_group_name};
use crate::data::{IMAGENET_MEAN, IMAGENET_STD, SplitRatios};

impl RunConfig {
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
        pixel_scale(d.mean, d.std)?;
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
        if t.batch_size == 1 && crate::model::stage_side(d.image_size as usize, 3) == 1 {
            // PyTorch refuses it too ("Expected more than 1 value per channel when training").
            return bad(
                "train.batch_size",
                format!(
                    "must be at least 2 at data.image_size = {}: layer4's output is 1x1 there, so one image \
                     gives each training BatchNorm channel a single value, normalised to 0",
                    d.image_size
                ),
            );
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

/// Pixels are 0 to 1 in kiln; Caffe and OpenCV recipes give their statistics in 0-255. Here,
/// not in the transform's own checks, so a run recorded before this rule still opens.
fn pixel_scale(mean: [f32; 3], std: [f32; 3]) -> Result<(), ConfigError> {
    let large: Vec<(&str, [f32; 3])> = [("data.mean", mean), ("data.std", std)]
        .into_iter()
        .filter(|(_, v)| v.iter().any(|x| *x > 1.0))
        .collect();
    let Some(&(key, _)) = large.first() else {
        return Ok(());
    };
    // The first key is the error's own, so only the others are named in the text.
    let said: Vec<String> = large
        .iter()
        .enumerate()
        .map(|(i, (key, v))| {
            let scaled = v.map(|x| (f64::from(x) / 255.0 * 1e4).round() / 1e4);
            let named = if i == 0 { String::new() } else { format!("{key} ") };
            format!("{named}{v:?} (divided by 255: {scaled:?})")
        })
        .collect();
    let said = said.join(" and ");
    Err(ConfigError::invalid(
        key,
        format!(
            "{said} {} 0-255 pixel values, but kiln's pixels run from 0 to 1 (ImageNet's statistics are mean \
             {IMAGENET_MEAN:?}, std {IMAGENET_STD:?})",
            if large.len() == 1 { "looks like" } else { "look like" }
        ),
    ))
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
    finite_and(key, v, v > 0.0, "> 0")
}

fn non_negative(key: &str, v: f64) -> Result<(), ConfigError> {
    finite_and(key, v, v >= 0.0, ">= 0")
}

/// `v` must be finite and satisfy `ok` (described by `bound`).
fn finite_and(key: &str, v: f64, ok: bool, bound: &str) -> Result<(), ConfigError> {
    if v.is_finite() && ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("must be a finite number {bound}, got {v}"),
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

#[cfg(test)]
mod tests {
    use crate::config::test_support::{MINIMAL, load_str};

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
            (
                "data.mean=[123.675, 116.28, 103.53]",
                "data.mean",
                "[123.675, 116.28, 103.53] (divided by 255: [0.485, 0.456, 0.406]) looks like 0-255 pixel values",
            ),
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
        // One image a batch is refused only where layer4's output is a single pixel.
        let small = ["data.image_size=32", "data.resize=32", "train.batch_size=1"];
        let e = load_str(MINIMAL, &small).unwrap_err();
        assert_eq!(e.key(), Some("train.batch_size"), "{e}");
        assert!(e.to_string().contains("at least 2 at data.image_size = 32"), "{e}");
        assert!(load_str(MINIMAL, &["data.image_size=33", "data.resize=33", "train.batch_size=1"]).is_ok());
    }
}
