//! Bilinear resampling with antialiasing that reproduces Pillow's `Image.resize(..., BILINEAR)`,
//! which is what torchvision's `Resize` runs on PIL images: a triangle filter widened by the
//! scale factor when shrinking, two passes (horizontal first), 8-bit intermediate and the same
//! 22-bit fixed-point weights and rounding. Matching it keeps a model fine-tuned here and one
//! fine-tuned in PyTorch looking at the same pixels.
//!
//! One addition: only a window of the output is computed. Resize-then-centre-crop asks for the
//! crop window, so the pixels the crop throws away are never computed; the kept ones are
//! bit-identical to resizing everything and cropping afterwards.

use image::RgbImage;

/// Pillow's fixed-point precision for 8-bit images: 32 bits - 8 for the pixel - 2 for headroom.
const PRECISION_BITS: u32 = 22;

/// An integer rectangle (x, y, width, height).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn full(w: u32, h: u32) -> Rect {
        Rect { x: 0, y: 0, w, h }
    }
}

/// Taps of one axis for a run of output pixels: output `i` reads source pixels
/// `start[i] .. start[i] + len[i]` with `weights[i * ksize ..]`.
struct AxisCoeffs {
    ksize: usize,
    start: Vec<usize>,
    len: Vec<usize>,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`, for outputs `first .. first + count`
/// of a resize from `in_size` to `out_size` pixels. `offset` is added to the source positions
/// (the crop origin).
fn axis_coeffs(in_size: usize, out_size: usize, offset: usize, first: usize, count: usize) -> AxisCoeffs {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    // Bilinear (triangle) filter has support 1, widened when shrinking: that is the antialias.
    let support = filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut start = Vec::with_capacity(count);
    let mut len = Vec::with_capacity(count);
    let mut weights = vec![0i32; count * ksize];
    let mut pre = vec![0f64; ksize];
    for i in 0..count {
        let center = (first + i) as f64 + 0.5;
        let center = center * scale;
        // `as i64` truncates toward zero like C's `(int)` cast in Pillow.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64).max(0) as usize;
        let n = xmax.saturating_sub(xmin).min(ksize);
        let mut total = 0.0;
        for (x, p) in pre.iter_mut().enumerate().take(n) {
            let t = ((x + xmin) as f64 - center + 0.5) / filterscale;
            let w = (1.0 - t.abs()).max(0.0);
            *p = w;
            total += w;
        }
        let row = &mut weights[i * ksize..(i + 1) * ksize];
        for (w, p) in row.iter_mut().zip(&pre).take(n) {
            let k = if total != 0.0 { p / total } else { *p };
            let fixed = k * f64::from(1u32 << PRECISION_BITS);
            *w = if k < 0.0 {
                (fixed - 0.5) as i32
            } else {
                (fixed + 0.5) as i32
            };
        }
        start.push(xmin + offset);
        len.push(n);
    }
    AxisCoeffs {
        ksize,
        start,
        len,
        weights,
    }
}

#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes the `crop` region of `src` to `out_w` x `out_h` and returns the `window` of that
/// output (which must lie inside it). With `crop` = whole image and `window` = whole output this
/// is exactly `PIL.Image.resize((out_w, out_h), BILINEAR)`.
pub fn resize_window(src: &RgbImage, crop: Rect, out_w: u32, out_h: u32, window: Rect) -> RgbImage {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let crop = Rect {
        x: crop.x.min(sw as u32),
        y: crop.y.min(sh as u32),
        w: crop.w.min(sw as u32 - crop.x.min(sw as u32)),
        h: crop.h.min(sh as u32 - crop.y.min(sh as u32)),
    };
    let (ww, wh) = (window.w as usize, window.h as usize);
    if ww == 0 || wh == 0 || crop.w == 0 || crop.h == 0 {
        return RgbImage::new(window.w, window.h);
    }
    let need_h = out_w != crop.w;
    let need_v = out_h != crop.h;
    let hc = axis_coeffs(crop.w as usize, out_w as usize, crop.x as usize, window.x as usize, ww);
    let vc = axis_coeffs(crop.h as usize, out_h as usize, crop.y as usize, window.y as usize, wh);
    let src_raw = src.as_raw();
    let src_stride = sw * 3;

    // Rows of the source the vertical pass will read (or the window rows when there is none).
    let (row_first, row_last) = if need_v {
        let first = vc.start[0];
        let last = vc.start[wh - 1] + vc.len[wh - 1];
        (first, last.max(first))
    } else {
        (
            crop.y as usize + window.y as usize,
            crop.y as usize + window.y as usize + wh,
        )
    };
    let rows = row_last - row_first;

    // Horizontal pass into an 8-bit buffer of `rows` x `ww`, as Pillow keeps its temp image 8-bit.
    let mut tmp = vec![0u8; rows * ww * 3];
    for r in 0..rows {
        let src_row = &src_raw[(row_first + r) * src_stride..(row_first + r + 1) * src_stride];
        let out_row = &mut tmp[r * ww * 3..(r + 1) * ww * 3];
        if need_h {
            for x in 0..ww {
                let n = hc.len[x];
                let k = &hc.weights[x * hc.ksize..x * hc.ksize + n];
                let s0 = hc.start[x] * 3;
                let half = 1i32 << (PRECISION_BITS - 1);
                let (mut a0, mut a1, mut a2) = (half, half, half);
                // One slice per output pixel, so the tap loop runs without bounds checks.
                for (p, &w) in src_row[s0..s0 + n * 3].chunks_exact(3).zip(k) {
                    a0 += i32::from(p[0]) * w;
                    a1 += i32::from(p[1]) * w;
                    a2 += i32::from(p[2]) * w;
                }
                out_row[x * 3] = clip8(a0);
                out_row[x * 3 + 1] = clip8(a1);
                out_row[x * 3 + 2] = clip8(a2);
            }
        } else {
            let s0 = (crop.x as usize + window.x as usize) * 3;
            out_row.copy_from_slice(&src_row[s0..s0 + ww * 3]);
        }
    }
    if !need_v {
        return RgbImage::from_raw(window.w, window.h, tmp).unwrap_or_default();
    }

    // Vertical pass: accumulate whole rows so the inner loop is a plain multiply-add over bytes.
    let row_len = ww * 3;
    let mut out = vec![0u8; wh * row_len];
    let mut acc = vec![0i32; row_len];
    for y in 0..wh {
        acc.fill(1 << (PRECISION_BITS - 1));
        let k = &vc.weights[y * vc.ksize..y * vc.ksize + vc.len[y]];
        let base = vc.start[y] - row_first;
        for (j, &w) in k.iter().enumerate() {
            let row = &tmp[(base + j) * row_len..(base + j + 1) * row_len];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * w;
            }
        }
        for (o, &a) in out[y * row_len..(y + 1) * row_len].iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    RgbImage::from_raw(window.w, window.h, out).unwrap_or_default()
}

/// The whole resized image: `PIL.Image.resize((w, h), BILINEAR)`.
pub fn resize(src: &RgbImage, w: u32, h: u32) -> RgbImage {
    resize_window(src, Rect::full(src.width(), src.height()), w, h, Rect::full(w, h))
}

/// Output size of torchvision's `Resize(size)` with an int size: the shorter side becomes
/// `size`, the longer one keeps the aspect ratio, truncated as Python's `int()` does.
pub fn shorter_side_size(w: u32, h: u32, size: u32) -> (u32, u32) {
    let (short, long) = if w <= h { (w, h) } else { (h, w) };
    let new_long = (f64::from(size) * f64::from(long) / f64::from(short.max(1))) as u32;
    if w <= h { (size, new_long) } else { (new_long, size) }
}

/// Top-left corner of torchvision's `CenterCrop`: `int(round((len - crop) / 2))`, where Python
/// rounds halves to even.
pub fn center_offset(len: u32, crop: u32) -> u32 {
    let d = f64::from(len.saturating_sub(crop)) / 2.0;
    d.round_ties_even() as u32
}
