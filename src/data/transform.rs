//! Image transforms with the recipe's defaults.
//!
//! Eval: resize the shorter side to `resize` (Pillow bilinear + antialias, see `resize`), centre
//! crop `image_size`, scale to [0, 1], normalise by `mean`/`std`, CHW layout: torchvision's
//! `Resize(256) + CenterCrop(224) + ToTensor() + Normalize(...)`.
//!
//! Train: the same crop (or a random resized crop), then flip, rotation and colour jitter.
//! Each sample's random draws come from `(seed, epoch, sample index)`, so a run is reproducible
//! whatever the thread count.
//!
//! Work is split in two so the loader can cache: `prepare` (decode-side, deterministic) and
//! `finish` (random part + conversion to floats).

use image::{DynamicImage, RgbImage};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::DataError;
use super::augment;
use super::resize::{Rect, center_offset, resize_window, shorter_side_size};
use super::rng::{self, seeded_rng};

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransformConfig {
    /// Side of the square the model sees (224 in the recipe; 32 or 64 suit the 28 px samples).
    pub image_size: u32,
    /// Shorter side after resizing, before the centre crop. `None`: `image_size * 8 / 7`
    /// rounded (256 for 224).
    pub resize: Option<u32>,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Used by the train transform only.
    pub augment: AugmentConfig,
}

impl Default for TransformConfig {
    fn default() -> Self {
        TransformConfig {
            image_size: 224,
            resize: None,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            augment: AugmentConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Probability of a horizontal flip.
    pub hflip: f32,
    /// Maximum rotation in degrees, either way.
    pub rotation: f32,
    /// Colour jitter strengths: factors drawn from `[1 - x, 1 + x]`.
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    /// Replace resize + centre crop by torchvision's `RandomResizedCrop(image_size)`.
    pub random_resized_crop: bool,
    /// Area fraction range of the random resized crop.
    pub crop_scale: [f32; 2],
    /// Aspect ratio range of the random resized crop.
    pub crop_ratio: [f32; 2],
}

impl Default for AugmentConfig {
    fn default() -> Self {
        // The recipe's augmentation; the crop ranges are torchvision's defaults.
        AugmentConfig {
            hflip: 0.5,
            rotation: 15.0,
            brightness: 0.2,
            contrast: 0.2,
            saturation: 0.2,
            random_resized_crop: false,
            crop_scale: [0.08, 1.0],
            crop_ratio: [3.0 / 4.0, 4.0 / 3.0],
        }
    }
}

impl TransformConfig {
    /// The shorter side the eval transform resizes to.
    pub fn resize_size(&self) -> u32 {
        self.resize
            .unwrap_or_else(|| (f64::from(self.image_size) * 8.0 / 7.0).round() as u32)
    }

    /// Floats per image: 3 x image_size x image_size.
    pub fn tensor_len(&self) -> usize {
        3 * self.image_size as usize * self.image_size as usize
    }

    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |m: String| Err(DataError::BadConfig(m));
        let a = &self.augment;
        if self.image_size == 0 {
            return bad("data.image_size must be at least 1".into());
        }
        if self.resize_size() < self.image_size {
            return bad(format!(
                "data.resize ({}) is smaller than data.image_size ({}); the centre crop would not fit",
                self.resize_size(),
                self.image_size
            ));
        }
        if self.std.iter().any(|s| !s.is_finite() || *s <= 0.0) || self.mean.iter().any(|m| !m.is_finite()) {
            return bad(format!(
                "data.std must be positive and data.mean finite (std {:?}, mean {:?})",
                self.std, self.mean
            ));
        }
        if !(0.0..=1.0).contains(&a.hflip) {
            return bad(format!("augment.hflip is a probability in [0, 1], got {}", a.hflip));
        }
        if !(0.0..=180.0).contains(&a.rotation) {
            return bad(format!("augment.rotation is degrees in [0, 180], got {}", a.rotation));
        }
        for (name, v) in [
            ("brightness", a.brightness),
            ("contrast", a.contrast),
            ("saturation", a.saturation),
        ] {
            if !(0.0..=10.0).contains(&v) {
                return bad(format!("augment.{name} must be in [0, 10], got {v}"));
            }
        }
        let [s0, s1] = a.crop_scale;
        let [r0, r1] = a.crop_ratio;
        if !(s0 > 0.0 && s0 <= s1 && s1 <= 1.0) {
            return bad(format!(
                "augment.crop_scale must satisfy 0 < min <= max <= 1, got {:?}",
                a.crop_scale
            ));
        }
        if !(r0 > 0.0 && r0 <= r1 && r1.is_finite()) {
            return bad(format!(
                "augment.crop_ratio must satisfy 0 < min <= max, got {:?}",
                a.crop_ratio
            ));
        }
        Ok(())
    }
}

/// Resize shorter side + centre crop to `image_size`, 8-bit (the eval transform before floats).
/// If a side ends up shorter than the crop (only with `resize < image_size`), it is padded with
/// black, as torchvision's `CenterCrop` does.
pub fn eval_crop(img: &RgbImage, cfg: &TransformConfig) -> RgbImage {
    let s = cfg.image_size;
    let (rw, rh) = shorter_side_size(img.width(), img.height(), cfg.resize_size());
    let full = Rect::full(img.width(), img.height());
    if rw >= s && rh >= s {
        let window = Rect {
            x: center_offset(rw, s),
            y: center_offset(rh, s),
            w: s,
            h: s,
        };
        return resize_window(img, full, rw, rh, window);
    }
    // Rare path: pad. Crop what fits, paste it centred on black.
    let (cw, ch) = (rw.min(s), rh.min(s));
    let window = Rect {
        x: center_offset(rw, cw),
        y: center_offset(rh, ch),
        w: cw,
        h: ch,
    };
    let part = resize_window(img, full, rw, rh, window);
    let mut out = RgbImage::new(s, s);
    image::imageops::replace(&mut out, &part, i64::from((s - cw) / 2), i64::from((s - ch) / 2));
    out
}

/// Writes `img` (image_size x image_size) as CHW floats normalised by `mean`/`std` into `out`.
pub fn write_normalized(img: &RgbImage, cfg: &TransformConfig, out: &mut [f32]) {
    let lut = Lut::new(cfg);
    lut.write(img, out);
}

/// The eval transform of one decoded image: `3 * image_size * image_size` floats, CHW, normalised.
/// This is what `kiln predict` feeds the model. Call `cfg.validate()` once beforehand; with an
/// invalid config the output is still the right length but may be padded.
pub fn eval_tensor_data(img: &DynamicImage, cfg: &TransformConfig) -> Vec<f32> {
    match img.as_rgb8() {
        Some(rgb) => eval_tensor_rgb(rgb, cfg),
        None => eval_tensor_rgb(&img.to_rgb8(), cfg),
    }
}

/// `eval_tensor_data` for an image already in 8-bit RGB (what `load_rgb` returns).
pub fn eval_tensor_rgb(img: &RgbImage, cfg: &TransformConfig) -> Vec<f32> {
    let crop = eval_crop(img, cfg);
    let mut out = vec![0.0; cfg.tensor_len()];
    write_normalized(&crop, cfg, &mut out);
    out
}

/// Per-channel lookup table: byte -> normalised float. 768 multiplies instead of one per pixel.
#[derive(Clone)]
struct Lut([[f32; 256]; 3]);

impl Lut {
    fn new(cfg: &TransformConfig) -> Lut {
        let mut t = [[0f32; 256]; 3];
        for (c, row) in t.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = (v as f32 / 255.0 - cfg.mean[c]) / cfg.std[c];
            }
        }
        Lut(t)
    }

    fn write(&self, img: &RgbImage, out: &mut [f32]) {
        let plane = img.width() as usize * img.height() as usize;
        let (r, rest) = out.split_at_mut(plane.min(out.len()));
        let (g, b) = rest.split_at_mut(plane.min(rest.len()));
        let planes = [r, g, b];
        for (i, p) in img.as_raw().chunks_exact(3).enumerate().take(plane) {
            for c in 0..3 {
                if let Some(dst) = planes[c].get_mut(i) {
                    *dst = self.0[c][usize::from(p[c])];
                }
            }
        }
    }
}

/// Which transform a loader applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Eval,
    Train,
}

/// A validated transform, ready to run on many images from many threads.
#[derive(Clone)]
pub struct Transform {
    cfg: TransformConfig,
    mode: Mode,
    seed: u64,
    lut: Box<Lut>,
}

impl Transform {
    pub fn new(cfg: TransformConfig, mode: Mode, seed: u64) -> Result<Transform, DataError> {
        cfg.validate()?;
        let lut = Box::new(Lut::new(&cfg));
        Ok(Transform { cfg, mode, seed, lut })
    }

    pub fn config(&self) -> &TransformConfig {
        &self.cfg
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The deterministic first half, whose result may be cached: the eval crop, or the decoded
    /// image itself when the random resized crop needs the full picture.
    pub fn prepare(&self, img: RgbImage) -> RgbImage {
        if self.mode == Mode::Train && self.cfg.augment.random_resized_crop {
            img
        } else {
            eval_crop(&img, &self.cfg)
        }
    }

    /// The second half: augmentation (train) and conversion into `out` (`tensor_len` floats).
    /// `epoch` and `index` (the sample's index in its data set) pick the random draws.
    pub fn finish(&self, prepared: &RgbImage, epoch: u64, index: u64, out: &mut [f32]) {
        match self.mode {
            Mode::Eval => self.lut.write(prepared, out),
            Mode::Train => {
                let img = self.augment(prepared, epoch, index);
                self.lut.write(&img, out);
            }
        }
    }

    /// The train augmentation alone, as an 8-bit image (for tests and previews).
    pub fn augment(&self, prepared: &RgbImage, epoch: u64, index: u64) -> RgbImage {
        let a = &self.cfg.augment;
        let s = self.cfg.image_size;
        let mut rng = seeded_rng(&[self.seed, rng::AUGMENT, epoch, index]);
        let mut img = if a.random_resized_crop {
            let r = augment::random_resized_crop_rect(
                &mut rng,
                prepared.width(),
                prepared.height(),
                a.crop_scale,
                a.crop_ratio,
            );
            resize_window(prepared, r, s, s, Rect::full(s, s))
        } else {
            prepared.clone()
        };
        if a.hflip > 0.0 && rng.random::<f32>() < a.hflip {
            augment::hflip(&mut img);
        }
        if a.rotation > 0.0 {
            let angle = rng.random_range(-a.rotation..=a.rotation);
            img = augment::rotate(&img, angle);
        }
        if a.brightness > 0.0 || a.contrast > 0.0 || a.saturation > 0.0 {
            augment::color_jitter(&mut rng, &mut img, a.brightness, a.contrast, a.saturation);
        }
        img
    }

    /// `prepare` then `finish`.
    pub fn apply(&self, img: RgbImage, epoch: u64, index: u64, out: &mut [f32]) {
        let prepared = self.prepare(img);
        self.finish(&prepared, epoch, index, out);
    }
}
