//! Max pooling on row-major f32 planes: each output row takes the elementwise maximum of its
//! window's input rows (a vector loop), then the maximum of each window along that row.
//! The gradient goes to each window's first maximum in row-major order, as Burn's and PyTorch's.

use rayon::prelude::*;

use crate::fill::zeros;

use super::MaxPool;

/// A max pool over `planes` (batch × channels) planes of `input` = [height, width] that
/// gives an output of `output` = [height, width].
#[derive(Debug, Clone, Copy)]
pub struct PoolGeometry {
    planes: usize,
    input: [usize; 2],
    output: [usize; 2],
    pool: MaxPool,
}

impl PoolGeometry {
    /// The geometry, or `None` where these kernels do not apply: an empty plane, a padded
    /// plane smaller than the kernel, or padding over half the kernel (a window could then
    /// miss the input entirely; PyTorch refuses that too).
    pub fn new(planes: usize, input: [usize; 2], pool: MaxPool) -> Option<Self> {
        let axis = |a: usize| {
            let padded = input[a] + 2 * pool.padding[a];
            let fits =
                input[a] > 0 && pool.stride[a] > 0 && padded >= pool.kernel[a] && 2 * pool.padding[a] <= pool.kernel[a];
            fits.then(|| (padded - pool.kernel[a]) / pool.stride[a] + 1)
        };
        Some(PoolGeometry {
            planes,
            input,
            output: [axis(0)?, axis(1)?],
            pool,
        })
    }

    pub fn output(&self) -> [usize; 2] {
        self.output
    }

    /// The input positions along `axis` under output position `o`.
    fn window(&self, o: usize, axis: usize) -> std::ops::Range<usize> {
        let start = (o * self.pool.stride[axis]) as isize - self.pool.padding[axis] as isize;
        let end = start + self.pool.kernel[axis] as isize;
        start.max(0) as usize..(end as usize).min(self.input[axis])
    }

    fn plane_len(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn output_plane_len(&self) -> usize {
        self.output[0] * self.output[1]
    }
}

/// The pooled planes of `x`, row-major.
pub fn max_pool_forward(g: &PoolGeometry, x: &[f32]) -> Vec<f32> {
    let out_w = g.output[1];
    let w = g.input[1];
    let mut y = zeros(g.planes * g.output_plane_len());
    y.par_chunks_mut(g.output_plane_len())
        .zip(x.par_chunks(g.plane_len()))
        .for_each_init(
            || vec![0.0f32; w],
            |row_max, (y, x)| {
                for (oh, y_row) in y.chunks_exact_mut(out_w).enumerate() {
                    let mut rows = g.window(oh, 0).map(|ih| &x[ih * w..(ih + 1) * w]);
                    row_max.copy_from_slice(rows.next().expect("every window holds an input row"));
                    for row in rows {
                        row_max.iter_mut().zip(row).for_each(|(m, &v)| *m = m.max(v));
                    }
                    for (ow, out) in y_row.iter_mut().enumerate() {
                        *out = row_max[g.window(ow, 1)]
                            .iter()
                            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    }
                }
            },
        );
    y
}

/// The gradient of the pool's input for `output_grad`, given the input `x`.
pub fn max_pool_x_grad(g: &PoolGeometry, x: &[f32], output_grad: &[f32]) -> Vec<f32> {
    let out_w = g.output[1];
    let w = g.input[1];
    let mut dx = zeros(x.len());
    dx.par_chunks_mut(g.plane_len())
        .zip(x.par_chunks(g.plane_len()))
        .zip(output_grad.par_chunks(g.output_plane_len()))
        .for_each(|((dx, x), dy)| {
            for (oh, dy_row) in dy.chunks_exact(out_w).enumerate() {
                for (ow, &grad) in dy_row.iter().enumerate() {
                    let mut best = (f32::NEG_INFINITY, usize::MAX);
                    for ih in g.window(oh, 0) {
                        for iw in g.window(ow, 1) {
                            let i = ih * w + iw;
                            // Strictly greater: the first maximum wins a tie.
                            if best.1 == usize::MAX || x[i] > best.0 {
                                best = (x[i], i);
                            }
                        }
                    }
                    dx[best.1] += grad;
                }
            }
        });
    dx
}
