//! BatchNorm with batch statistics on a row-major f32 `[n, c, plane]` batch: each channel's
//! sums in one task (a channel is `n` runs of `plane` values), then each plane written in one.

use rayon::prelude::*;

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

    /// Σ f(values of `a`, values of `b`) over one channel's planes, in f64.
    fn channel_sum(&self, channel: usize, a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64 + Copy) -> f64 {
        (0..self.images)
            .map(|i| {
                let at = (i * self.channels + channel) * self.plane;
                lane_sum(&a[at..at + self.plane], &b[at..at + self.plane], f)
            })
            .sum()
    }

    /// Writes each plane of `out` from the matching planes of `a` and `b` and its channel.
    fn per_plane(&self, out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(usize, f32, f32) -> f32 + Sync) {
        out.par_chunks_mut(self.plane)
            .zip(a.par_chunks(self.plane).zip(b.par_chunks(self.plane)))
            .enumerate()
            .for_each(|(i, (out, (a, b)))| {
                let channel = i % self.channels;
                out.iter_mut()
                    .zip(a.iter().zip(b))
                    .for_each(|(o, (&a, &b))| *o = f(channel, a, b));
            });
    }
}

/// Σ f(a[i], b[i]) in f64 over eight independent lanes: a plain running sum waits for each
/// addition in turn (float addition does not reorder), eight lanes the compiler vectorises.
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64) -> f64 {
    const LANES: usize = 8;
    let mut lanes = [0f64; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&a, &b)| f(a, b))
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for j in 0..LANES {
            lanes[j] += f(a[j], b[j]);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// The output, the per-channel mean and the (biased) variance: the mean first, then the
/// variance of the centred values (two passes, as Burn's op version, for accuracy).
pub fn forward(l: Layout, x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(
        x.len(),
        l.images * l.channels * l.plane,
        "batch norm: input does not match {l:?}"
    );
    let stats: Vec<(f32, f32)> = (0..l.channels)
        .into_par_iter()
        .map(|c| {
            let mean = l.channel_sum(c, x, x, |v, _| v as f64) / l.count();
            let var = l.channel_sum(c, x, x, |v, _| (v as f64 - mean).powi(2)) / l.count();
            (mean as f32, var as f32)
        })
        .collect();
    let (mean, var): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
    let scale: Vec<f32> = (0..l.channels)
        .map(|c| (gamma[c] as f64 / (var[c] as f64 + epsilon).sqrt()) as f32)
        .collect();
    let mut y = vec![0f32; x.len()];
    l.per_plane(&mut y, x, x, |c, v, _| (v - mean[c]) * scale[c] + beta[c]);
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
    let sums: Vec<(f64, f64)> = (0..l.channels)
        .into_par_iter()
        .map(|c| {
            let d_beta = l.channel_sum(c, dy, dy, |g, _| g as f64);
            let d_gamma = l.channel_sum(c, dy, x, |g, v| g as f64 * (v as f64 - mean[c] as f64)) * inv_std[c];
            (d_beta, d_gamma)
        })
        .collect();
    let m = l.count();
    // dx = γ/σ · dy − γ/σ · dβ/m − (x − mean) · γ/σ² · dγ/m, per channel: a·dy + b + k·(x − mean).
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
    let mut dx = vec![0f32; x.len()];
    l.per_plane(&mut dx, dy, x, |c, g, v| {
        let (a, b, k) = coefficients[c];
        a * g + b + k * (v - mean[c])
    });
    let (d_beta, d_gamma) = sums.iter().map(|&(b, g)| (b as f32, g as f32)).unzip();
    (dx, d_gamma, d_beta)
}
