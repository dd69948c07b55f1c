//! Training augmentations on 8-bit RGB images, with torchvision's semantics: random resized
//! crop, horizontal flip, rotation about the centre, colour jitter (brightness, contrast,
//! saturation in a random order). The random draws come from the generator passed in.

use image::RgbImage;
use rand::Rng;
use rand::seq::SliceRandom;

use super::resize::Rect;

/// torchvision `RandomResizedCrop.get_params`: a region covering `scale` of the area with an
/// aspect ratio drawn log-uniformly from `ratio`; ten tries, then a centred fallback.
pub fn random_resized_crop_rect<R: Rng>(
    rng: &mut R,
    width: u32,
    height: u32,
    scale: [f32; 2],
    ratio: [f32; 2],
) -> Rect {
    if width == 0 || height == 0 {
        return Rect { x: 0, y: 0, w: 0, h: 0 };
    }
    let (wf, hf) = (f64::from(width), f64::from(height));
    let area = wf * hf;
    let (lr0, lr1) = (f64::from(ratio[0]).ln(), f64::from(ratio[1]).ln());
    for _ in 0..10 {
        let target = area * uniform(rng, f64::from(scale[0]), f64::from(scale[1]));
        let aspect = uniform(rng, lr0, lr1).exp();
        let w = (target * aspect).sqrt().round_ties_even() as i64;
        let h = (target / aspect).sqrt().round_ties_even() as i64;
        if w > 0 && h > 0 && w <= i64::from(width) && h <= i64::from(height) {
            let y = rng.random_range(0..=(i64::from(height) - h)) as u32;
            let x = rng.random_range(0..=(i64::from(width) - w)) as u32;
            return Rect {
                x,
                y,
                w: w as u32,
                h: h as u32,
            };
        }
    }
    let in_ratio = wf / hf.max(1.0);
    let (lo, hi) = (f64::from(ratio[0]), f64::from(ratio[1]));
    let (w, h) = if in_ratio < lo {
        (width, (wf / lo).round_ties_even() as u32)
    } else if in_ratio > hi {
        ((hf * hi).round_ties_even() as u32, height)
    } else {
        (width, height)
    };
    let (w, h) = (w.clamp(1, width.max(1)), h.clamp(1, height.max(1)));
    Rect {
        x: (width - w) / 2,
        y: (height - h) / 2,
        w,
        h,
    }
}

fn uniform<R: Rng>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    if hi > lo { rng.random_range(lo..hi) } else { lo }
}

/// Flips in place, left to right.
pub fn hflip(img: &mut RgbImage) {
    image::imageops::flip_horizontal_in_place(img);
}

/// Rotates counter-clockwise by `degrees` about the image centre, keeping the size (as PIL's
/// `rotate(angle, expand=False)`), filling uncovered corners with black. Bilinear sampling
/// (torchvision defaults to nearest; bilinear avoids jagged edges at no real cost here).
pub fn rotate(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = RgbImage::new(img.width(), img.height());
    if w == 0 || h == 0 {
        return out;
    }
    let (sin, cos) = f64::from(degrees).to_radians().sin_cos();
    let (sin, cos) = (sin as f32, cos as f32);
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let src = img.as_raw();
    let dst: &mut [u8] = &mut out;
    let (wi, hi) = (w as i32, h as i32);
    // 16.16 fixed point: floor is a shift and the fraction a mask, no float conversions per pixel.
    let fixed = |v: f32| (v * 65536.0).round() as i32;
    let (cos_f, sin_f) = (fixed(cos), fixed(sin));
    for y in 0..h {
        let dy = y as f32 + 0.5 - cy;
        // Inverse map of the row's first pixel (y points down, so counter-clockwise on screen);
        // along the row the source point moves by (cos, sin) per pixel.
        let dx0 = 0.5 - cx;
        let mut sx = fixed(cx + dx0 * cos - dy * sin - 0.5);
        let mut sy = fixed(cy + dx0 * sin + dy * cos - 0.5);
        for px in dst[y * w * 3..(y + 1) * w * 3].chunks_exact_mut(3) {
            let (x0, y0) = (sx >> 16, sy >> 16);
            let (fx, fy) = ((sx >> 8) & 255, (sy >> 8) & 255);
            sx += cos_f;
            sy += sin_f;
            if x0 < -1 || y0 < -1 || x0 >= wi || y0 >= hi {
                continue; // all four neighbours outside: stays black
            }
            let (w00, w10) = ((256 - fx) * (256 - fy), fx * (256 - fy));
            let (w01, w11) = ((256 - fx) * fy, fx * fy);
            if x0 >= 0 && y0 >= 0 && x0 + 1 < wi && y0 + 1 < hi {
                // Interior (almost every pixel): all four neighbours exist, no per-tap checks.
                let i = (y0 as usize * w + x0 as usize) * 3;
                let (top, bottom) = (&src[i..i + 6], &src[i + w * 3..i + w * 3 + 6]);
                for c in 0..3 {
                    let acc = (1 << 15)
                        + w00 * i32::from(top[c])
                        + w10 * i32::from(top[c + 3])
                        + w01 * i32::from(bottom[c])
                        + w11 * i32::from(bottom[c + 3]);
                    px[c] = (acc >> 16) as u8;
                }
                continue;
            }
            // Border: neighbours outside the image count as black.
            let mut acc = [1i32 << 15; 3];
            for (tx, ty, wgt) in [
                (x0, y0, w00),
                (x0 + 1, y0, w10),
                (x0, y0 + 1, w01),
                (x0 + 1, y0 + 1, w11),
            ] {
                if wgt == 0 || tx < 0 || ty < 0 || tx >= wi || ty >= hi {
                    continue;
                }
                let i = (ty as usize * w + tx as usize) * 3;
                for c in 0..3 {
                    acc[c] += wgt * i32::from(src[i + c]);
                }
            }
            for c in 0..3 {
                px[c] = (acc[c] >> 16).clamp(0, 255) as u8;
            }
        }
    }
    out
}

/// PIL's `convert("L")` luma, in its fixed-point form.
#[inline]
fn luma(p: &[u8]) -> u8 {
    ((u32::from(p[0]) * 19595 + u32::from(p[1]) * 38470 + u32::from(p[2]) * 7471 + 0x8000) >> 16) as u8
}

/// `degenerate + factor * (v - degenerate)`, rounded and clamped, for every byte value.
fn blend_lut(degenerate: f32, factor: f32) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        let x = degenerate + factor * (v as f32 - degenerate);
        // Clamp first, then +0.5 and truncate: rounding without a libm call.
        *out = (x.clamp(0.0, 255.0) + 0.5) as u8;
    }
    lut
}

/// torchvision `adjust_brightness`: blend with black.
pub fn adjust_brightness(img: &mut RgbImage, factor: f32) {
    let lut = blend_lut(0.0, factor);
    for v in img.iter_mut() {
        *v = lut[usize::from(*v)];
    }
}

/// torchvision `adjust_contrast`: blend with the image's mean grey level.
pub fn adjust_contrast(img: &mut RgbImage, factor: f32) {
    let n = (img.width() as usize * img.height() as usize).max(1);
    let sum: u64 = img.as_raw().chunks_exact(3).map(|p| u64::from(luma(p))).sum();
    let mean = (sum as f64 / n as f64 + 0.5).floor() as f32;
    let lut = blend_lut(mean, factor);
    for v in img.iter_mut() {
        *v = lut[usize::from(*v)];
    }
}

/// torchvision `adjust_saturation`: blend each pixel with its own grey level.
pub fn adjust_saturation(img: &mut RgbImage, factor: f32) {
    // 16-bit fixed point: the grey level differs per pixel, so no lookup table.
    let f = (factor * 65536.0) as i32;
    let raw: &mut [u8] = img;
    for p in raw.chunks_exact_mut(3) {
        let g = i32::from(luma(p));
        for v in p.iter_mut() {
            let x = ((g << 16) + f * (i32::from(*v) - g) + (1 << 15)) >> 16;
            *v = x.clamp(0, 255) as u8;
        }
    }
}

/// torchvision `ColorJitter(brightness, contrast, saturation)`: each factor drawn uniformly from
/// `[max(0, 1 - x), 1 + x]`, the three adjustments applied in a random order. A zero strength
/// skips that adjustment (and its draw).
pub fn color_jitter<R: Rng>(rng: &mut R, img: &mut RgbImage, brightness: f32, contrast: f32, saturation: f32) {
    let mut order = [0usize, 1, 2];
    order.shuffle(rng);
    let strengths = [brightness, contrast, saturation];
    let factors = strengths.map(|s| {
        if s > 0.0 {
            Some(rng.random_range((1.0 - s).max(0.0)..=1.0 + s))
        } else {
            None
        }
    });
    for i in order {
        match (i, factors[i]) {
            (0, Some(f)) => adjust_brightness(img, f),
            (1, Some(f)) => adjust_contrast(img, f),
            (2, Some(f)) => adjust_saturation(img, f),
            _ => {}
        }
    }
}
