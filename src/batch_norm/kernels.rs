//! BatchNorm with batch statistics on a row-major f32 `[n, c, plane]` batch: each channel's
//! sums in one task (a channel is `n` runs of `plane` values), then each image written in one.
//! Sums run in f64 over eight independent lanes, every loop compiled for the widest vectors
//! the CPU has ([`crate::vectors`]).

use rayon::prelude::*;

use crate::fill::zeros;

/// The layout of a batch: images, channels, values per channel plane.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub images: usize,
    pub channels: usize,
    pub plane: usize,
}

impl Layout {
    fn count(&self) -> f64 {
        (self.images * self.plane) as f64
    }

    /// Channel `c`'s plane of image `i` in `a`.
    #[inline(always)]
    fn plane<'a>(&self, a: &'a [f32], i: usize, c: usize) -> &'a [f32] {
        &a[(i * self.channels + c) * self.plane..][..self.plane]
    }
}

crate::vectors::widest! {
    /// Channel `c`'s mean and biased variance, Σ x·(x − mean) / m (= Σ (x − mean)² / m, the
    /// centred sum being zero), from two passes.
    fn channel_statistics(l: Layout, x: &[f32], c: usize) -> (f64, f64) {
        // Plain loops: an iterator adapter's fold is not inlined into the vector copy.
        let mut total = 0.0;
        for i in 0..l.images {
            total += sum(l.plane(x, i, c));
        }
        let mean = total / l.count();
        let mut squares = 0.0;
        for i in 0..l.images {
            let p = l.plane(x, i, c);
            squares += centred_dot(p, p, mean);
        }
        (mean, (squares / l.count()).max(0.0))
    }
}

crate::vectors::widest! {
    /// Channel `c`'s Σ dy and Σ dy·(x − mean).
    fn channel_gradient_sums(l: Layout, dy: &[f32], x: &[f32], c: usize, mean: f64) -> (f64, f64) {
        let (mut d_beta, mut d_gamma) = (0.0, 0.0);
        for i in 0..l.images {
            d_beta += sum(l.plane(dy, i, c));
            d_gamma += centred_dot(l.plane(dy, i, c), l.plane(x, i, c), mean);
        }
        (d_beta, d_gamma)
    }
}

crate::vectors::widest! {
    /// One image: y = (x − mean)·scale + shift, each channel's plane with its own values.
    fn normalise(y: &mut [f32], x: &[f32], plane: usize, mean: &[f32], scale: &[f32], shift: &[f32]) {
        for (c, (y, x)) in y.chunks_exact_mut(plane).zip(x.chunks_exact(plane)).enumerate() {
            let (m, s, b) = (mean[c], scale[c], shift[c]);
            for (y, &x) in y.iter_mut().zip(x) {
                *y = (x - m) * s + b;
            }
        }
    }
}

crate::vectors::widest! {
    /// One image: dx = a·dy + b + k·(x − mean), each channel's plane with its own (a, b, k).
    fn input_gradient(dx: &mut [f32], dy: &[f32], x: &[f32], plane: usize, coefficients: &[(f32, f32, f32)], mean: &[f32]) {
        let planes = dx.chunks_exact_mut(plane).zip(dy.chunks_exact(plane).zip(x.chunks_exact(plane)));
        for (c, (dx, (dy, x))) in planes.enumerate() {
            let ((a, b, k), m) = (coefficients[c], mean[c]);
            for (d, (&g, &v)) in dx.iter_mut().zip(dy.iter().zip(x)) {
                *d = a * g + b + k * (v - m);
            }
        }
    }
}

const LANES: usize = 8;

/// Σ a, in f64 lanes (a single running sum waits on each addition in turn).
#[inline(always)]
fn sum(a: &[f32]) -> f64 {
    let mut lanes = [0f64; LANES];
    let chunks = a.chunks_exact(LANES);
    let mut total = 0.0;
    for &v in chunks.remainder() {
        total += v as f64;
    }
    for chunk in chunks {
        for j in 0..LANES {
            lanes[j] += chunk[j] as f64;
        }
    }
    for lane in lanes {
        total += lane;
    }
    total
}

/// Σ a·(b − centre), in f64 lanes.
#[inline(always)]
fn centred_dot(a: &[f32], b: &[f32], centre: f64) -> f64 {
    let mut lanes = [0f64; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let mut total = 0.0;
    for (&a, &b) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        total += a as f64 * (b as f64 - centre);
    }
    for (a, b) in a_chunks.zip(b_chunks) {
        for j in 0..LANES {
            lanes[j] += a[j] as f64 * (b[j] as f64 - centre);
        }
    }
    for lane in lanes {
        total += lane;
    }
    total
}

/// The output, the per-channel mean and the (biased) variance.
pub fn forward(l: Layout, x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(
        x.len(),
        l.images * l.channels * l.plane,
        "batch norm: input does not match {l:?}"
    );
    let stats: Vec<(f64, f64)> = (0..l.channels)
        .into_par_iter()
        .map(|c| channel_statistics(l, x, c))
        .collect();
    // y = (x − mean)·scale + β per channel.
    let scale: Vec<f32> = (0..l.channels)
        .map(|c| (gamma[c] as f64 / (stats[c].1 + epsilon).sqrt()) as f32)
        .collect();
    let mean: Vec<f32> = stats.iter().map(|s| s.0 as f32).collect();
    let mut y = zeros(x.len());
    let image = l.channels * l.plane;
    y.par_chunks_mut(image)
        .zip(x.par_chunks(image))
        .for_each(|(y, x)| normalise(y, x, l.plane, &mean, &scale, beta));
    let var = stats.iter().map(|s| s.1 as f32).collect();
    (y, mean, var)
}

/// The gradients of the input, γ and β for the output's gradient `dy` (see
/// [`super::burn_batch_norm_grads`]): the two sums per channel, then dx per plane.
pub fn backward(
    l: Layout,
    x: &[f32],
    gamma: &[f32],
    (mean, var): (&[f32], &[f32]),
    epsilon: f64,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(
        x.len(),
        dy.len(),
        "batch norm: input and output gradient differ in size"
    );
    assert_eq!(
        x.len(),
        l.images * l.channels * l.plane,
        "batch norm: input does not match {l:?}"
    );
    let inv_std: Vec<f64> = var.iter().map(|&v| 1.0 / (v as f64 + epsilon).sqrt()).collect();
    // dβ = Σ dy, dγ = Σ dy·x̂ per channel.
    let sums: Vec<(f64, f64)> = (0..l.channels)
        .into_par_iter()
        .map(|c| {
            let (d_beta, d_gamma) = channel_gradient_sums(l, dy, x, c, mean[c] as f64);
            (d_beta, d_gamma * inv_std[c])
        })
        .collect();
    let m = l.count();
    // dx = γ/σ · (dy − dβ/m − x̂·dγ/m) per channel, as a·dy + b + k·(x − mean).
    let coefficients: Vec<(f32, f32, f32)> = sums
        .iter()
        .enumerate()
        .map(|(c, &(d_beta, d_gamma))| {
            let a = gamma[c] as f64 * inv_std[c];
            (
                a as f32,
                (-a * d_beta / m) as f32,
                (-a * inv_std[c] * d_gamma / m) as f32,
            )
        })
        .collect();
    let mut dx = zeros(x.len());
    let image = l.channels * l.plane;
    dx.par_chunks_mut(image)
        .zip(dy.par_chunks(image).zip(x.par_chunks(image)))
        .for_each(|(dx, (dy, x))| input_gradient(dx, dy, x, l.plane, &coefficients, mean));
    let (d_beta, d_gamma) = sums.iter().map(|&(b, g)| (b as f32, g as f32)).unzip();
    (dx, d_gamma, d_beta)
}
