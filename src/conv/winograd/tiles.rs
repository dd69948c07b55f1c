//! The transforms of Winograd's F(m x m, 3 x 3) (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", 2015): an m x m output tile of a 3x3 convolution is
//! `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for the α x α input tile `d` around it (α = m + 2): α²
//! multiplies where the direct convolution needs 9m². F(2x2) takes 16 for 4 outputs (2.25x
//! fewer), F(4x4) 36 for 16 (4x fewer, with larger constants and so more rounding).
//!
//! Each transform gathers entry (i, j) of every tile of a plane side by side, then applies
//! its matrices down the tiles' columns and along their rows ([`two_sided`]) with the inner
//! loops running over all of the plane's tiles at once. Tiles are
//! numbered row by row; position `p = α·a + b` of a transformed tile is its entry (a, b).

/// One F(m x m, 3 x 3): its three matrices, row-major.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scheme {
    /// The output tile's side.
    pub m: usize,
    /// Bᵀ, α x α.
    bt: &'static [f32],
    /// G, α x 3.
    g: &'static [f32],
    /// Aᵀ, m x α.
    at: &'static [f32],
}

/// F(2x2, 3x3): points 0, ±1, ∞.
pub const F2: Scheme = Scheme {
    m: 2,
    #[rustfmt::skip]
    bt: &[
        1.0, 0.0, -1.0, 0.0,
        0.0, 1.0, 1.0, 0.0,
        0.0, -1.0, 1.0, 0.0,
        0.0, 1.0, 0.0, -1.0,
    ],
    #[rustfmt::skip]
    g: &[
        1.0, 0.0, 0.0,
        0.5, 0.5, 0.5,
        0.5, -0.5, 0.5,
        0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    at: &[
        1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, -1.0,
    ],
};

/// F(4x4, 3x3): points 0, ±1, ±2, ∞.
pub const F4: Scheme = Scheme {
    m: 4,
    #[rustfmt::skip]
    bt: &[
        4.0, 0.0, -5.0, 0.0, 1.0, 0.0,
        0.0, -4.0, -4.0, 1.0, 1.0, 0.0,
        0.0, 4.0, -4.0, -1.0, 1.0, 0.0,
        0.0, -2.0, -1.0, 2.0, 1.0, 0.0,
        0.0, 2.0, -1.0, -2.0, 1.0, 0.0,
        0.0, 4.0, 0.0, -5.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    g: &[
        1.0 / 4.0, 0.0, 0.0,
        -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0,
        -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0,
        1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0,
        1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0,
        0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    at: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, 2.0, -2.0, 0.0,
        0.0, 1.0, 1.0, 4.0, 4.0, 0.0,
        0.0, 1.0, -1.0, 8.0, -8.0, 1.0,
    ],
};

impl Scheme {
    /// The input tile's side.
    pub fn alpha(&self) -> usize {
        self.m + 2
    }

    /// Values in one transformed tile.
    pub fn positions(&self) -> usize {
        self.alpha() * self.alpha()
    }

    /// Bᵀ, α x α.
    fn bt_matrix(&self) -> Small {
        Small::of(self.bt, self.alpha(), self.alpha())
    }

    /// Aᵀ, m x α.
    fn at_matrix(&self) -> Small {
        Small::of(self.at, self.m, self.alpha())
    }
}

/// How one image plane of `size` (height, width) splits into the scheme's output tiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiling {
    pub size: [usize; 2],
    pub scheme: Scheme,
}

impl Tiling {
    /// Tile rows and tile columns: the last ones may hang over the edge.
    pub fn tiles(&self) -> [usize; 2] {
        self.size.map(|s| s.div_ceil(self.scheme.m))
    }

    /// Tiles per plane.
    pub fn count(&self) -> usize {
        let [th, tw] = self.tiles();
        th * tw
    }

    /// Values per plane.
    pub fn plane_len(&self) -> usize {
        self.size[0] * self.size[1]
    }
}

/// `out = Σ_c coefs[c] · inputs[c]`, elementwise over `out`, the zero coefficients skipped.
fn combine(coefs: impl IntoIterator<Item = f32>, inputs: &[&[f32]], out: &mut [f32]) {
    let mut first = true;
    for (k, input) in coefs.into_iter().zip(inputs) {
        if k == 0.0 {
            continue;
        }
        let input = &input[..out.len()];
        if first {
            out.iter_mut().zip(input).for_each(|(o, i)| *o = k * i);
            first = false;
        } else {
            out.iter_mut().zip(input).for_each(|(o, i)| *o += k * i);
        }
    }
    if first {
        out.fill(0.0);
    }
}

/// Working memory for the transforms of one plane, reused from plane to plane.
#[derive(Default)]
pub struct Work {
    padded: Vec<f32>,
    first: Vec<f32>,
    second: Vec<f32>,
}

/// `len` values of `buffer`, grown as needed (stale contents: each use overwrites them).
fn grown(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// The `n` consecutive `len`-long slices of `values`.
fn rows(values: &[f32], len: usize, n: usize) -> Vec<&[f32]> {
    values.chunks_exact(len).take(n).collect()
}

/// A small matrix read through strides: element (r, c) at `r · row_stride + c · col_stride`.
#[derive(Debug, Clone, Copy)]
struct Small {
    values: &'static [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl Small {
    /// A row-major `rows x cols` matrix.
    fn of(values: &'static [f32], rows: usize, cols: usize) -> Self {
        Small {
            values,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    fn transposed(self) -> Self {
        Small {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// Row `r`'s coefficients.
    fn row(self, r: usize) -> impl Iterator<Item = f32> {
        (0..self.cols).map(move |c| self.values[r * self.row_stride + c * self.col_stride])
    }
}

/// `Y = L X Rᵀ` over every tile at once: `x[i · cols + j]` is entry (i, j) of every tile
/// (`tiles` values), with `L.cols` rows and `R.cols` columns; entry (a, b) of Y goes to
/// `out[(a · R.rows + b) · stride..][..tiles]`. `lx` holds L X in between.
fn two_sided(l: Small, r: Small, x: &[&[f32]], out: &mut [f32], stride: usize, tiles: usize, lx: &mut Vec<f32>) {
    let cols = r.cols;
    let lx = grown(lx, l.rows * cols * tiles);
    for (aj, dst) in lx.chunks_exact_mut(tiles).enumerate() {
        let (a, j) = (aj / cols, aj % cols);
        // α ≤ 6: the inputs on the stack, not a Vec per entry of every plane.
        let inputs: [&[f32]; 6] = std::array::from_fn(|i| if i < l.cols { x[i * cols + j] } else { &[] });
        combine(l.row(a), &inputs[..l.cols], dst);
    }
    let lx = rows(lx, tiles, l.rows * cols);
    for a in 0..l.rows {
        for b in 0..r.rows {
            let dst = &mut out[(a * r.rows + b) * stride..][..tiles];
            combine(r.row(b), &lx[a * cols..(a + 1) * cols], dst);
        }
    }
}

/// `Bᵀ d B` for every input tile of `plane` (padded by one pixel on each side: a padded
/// 3x3, stride-1 convolution). `out` holds the plane's tiles at each position, `stride`
/// values from one position to the next: `out[p · stride + t]` for tile `t`.
pub fn input_tiles(tiling: Tiling, plane: &[f32], out: &mut [f32], stride: usize, work: &mut Work) {
    let s = tiling.scheme;
    let (m, alpha, tiles) = (s.m, s.alpha(), tiling.count());
    let [h, w] = tiling.size;
    let [th, tw] = tiling.tiles();
    // The padded plane: row r, column c is the input's (r − 1, c − 1), zero outside.
    let cols = m * tw + 2;
    let padded = grown(&mut work.padded, (m * th + 2) * cols);
    padded.fill(0.0);
    for (iy, src) in plane.chunks_exact(w).enumerate().take(h) {
        padded[(iy + 1) * cols + 1..][..w].copy_from_slice(src);
    }
    if m == 2 {
        // F(2x2), the only scheme with 2x2 outputs: its transform written out.
        let rows = grown(&mut work.first, 4 * cols);
        return super::f2::input_tiles(padded, cols, [th, tw], out, stride, rows);
    }
    // d[i][j][t]: entry (i, j) of every tile t, side by side.
    let d = grown(&mut work.first, alpha * alpha * tiles);
    for (ij, dst) in d.chunks_exact_mut(tiles).enumerate() {
        let (i, j) = (ij / alpha, ij % alpha);
        for (ty, dst_row) in dst.chunks_exact_mut(tw).enumerate() {
            let src = &padded[(m * ty + i) * cols + j..];
            for (tx, v) in dst_row.iter_mut().enumerate() {
                *v = src[m * tx];
            }
        }
    }
    let bt = s.bt_matrix();
    two_sided(
        bt,
        bt,
        &rows(d, tiles, alpha * alpha),
        out,
        stride,
        tiles,
        &mut work.second,
    );
}

/// `Aᵀ M A` for every tile of one output plane, `m[p · stride + t]` as [`input_tiles`] lays
/// them out, plus `bias`: the plane itself (what an overhanging tile has beyond it is dropped).
pub fn output_plane(tiling: Tiling, m: &[f32], stride: usize, bias: f32, plane: &mut [f32], work: &mut Work) {
    let s = tiling.scheme;
    let (side, alpha, tiles) = (s.m, s.alpha(), tiling.count());
    let [h, w] = tiling.size;
    let [_, tw] = tiling.tiles();
    let products: Vec<&[f32]> = (0..alpha * alpha).map(|p| &m[p * stride..][..tiles]).collect();
    // y[r][q][t]: output (r, q) of every tile t.
    let y = grown(&mut work.first, side * side * tiles);
    let at = s.at_matrix();
    two_sided(at, at, &products, y, tiles, tiles, &mut work.second);
    for (rq, values) in y.chunks_exact(tiles).enumerate() {
        let (r, q) = (rq / side, rq % side);
        // Tile columns whose column q lies inside the plane.
        let inside = w.saturating_sub(q).div_ceil(side);
        for (ty, values) in values.chunks_exact(tw).enumerate() {
            let oy = side * ty + r;
            if oy >= h || inside == 0 {
                break;
            }
            let dst = &mut plane[oy * w + q..];
            for (tx, v) in values[..inside].iter().enumerate() {
                dst[side * tx] = bias + v;
            }
        }
    }
}

/// `A dY Aᵀ` for every tile of one output-gradient plane, laid out as [`input_tiles`] does:
/// the gradients of the α² products from those of the m x m outputs (zero beyond the plane's
/// edge, where no output exists).
pub fn output_grad_tiles(tiling: Tiling, dy: &[f32], out: &mut [f32], stride: usize, work: &mut Work) {
    let s = tiling.scheme;
    let (side, tiles) = (s.m, tiling.count());
    let [h, w] = tiling.size;
    let [_, tw] = tiling.tiles();
    // d[p][q][t]: output (p, q) of every tile t, zero beyond the edge.
    let d = grown(&mut work.first, side * side * tiles);
    for (pq, dst) in d.chunks_exact_mut(tiles).enumerate() {
        let (p, q) = (pq / side, pq % side);
        for (ty, dst_row) in dst.chunks_exact_mut(tw).enumerate() {
            let oy = side * ty + p;
            if oy >= h {
                dst_row.fill(0.0);
                continue;
            }
            let src = &dy[oy * w..][..w];
            for (tx, v) in dst_row.iter_mut().enumerate() {
                *v = src.get(side * tx + q).copied().unwrap_or(0.0);
            }
        }
    }
    let a = s.at_matrix().transposed();
    two_sided(a, a, &rows(d, tiles, side * side), out, stride, tiles, &mut work.second);
}

/// G ⊗ G, α² x 9, row-major: row α·a + b weighs the 3x3 kernel's taps (row-major) into
/// entry (a, b) of `G g Gᵀ`, so a layer's kernels transform in one matrix multiply (and
/// their gradients in one by its transpose). `reversed` weighs the taps in reverse order:
/// the transform of each kernel turned half a circle, which the input gradient convolves with.
pub fn kernel_matrix(scheme: Scheme, reversed: bool) -> Vec<f32> {
    let alpha = scheme.alpha();
    let g = |a: usize, i: usize| scheme.g[3 * a + i];
    let mut t = vec![0f32; alpha * alpha * 9];
    for (ab, row) in t.chunks_exact_mut(9).enumerate() {
        let (a, b) = (ab / alpha, ab % alpha);
        for (q, value) in row.iter_mut().enumerate() {
            let tap = if reversed { 8 - q } else { q };
            *value = g(a, tap / 3) * g(b, tap % 3);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_matrix_gives_g_g_gt_and_that_of_the_turned_kernel() {
        let kernel: [f32; 9] = [0.3, -1.2, 0.7, 2.0, 0.1, -0.4, 0.9, 1.5, -2.2];
        let mut turned = kernel;
        turned.reverse();
        for scheme in [F2, F4] {
            let alpha = scheme.alpha();
            let g = |a: usize, i: usize| scheme.g[3 * a + i];
            // (G k Gᵀ)[a][b] = Σ_ij G[a][i] k[i][j] G[b][j].
            let direct = |k: &[f32; 9]| -> Vec<f32> {
                let entry = |a, b| (0..9).map(|ij| g(a, ij / 3) * k[ij] * g(b, ij % 3)).sum::<f32>();
                (0..alpha * alpha).map(|ab| entry(ab / alpha, ab % alpha)).collect()
            };
            for (reversed, want) in [(false, direct(&kernel)), (true, direct(&turned))] {
                let t = kernel_matrix(scheme, reversed);
                let got: Vec<f32> = t
                    .chunks_exact(9)
                    .map(|row| row.iter().zip(&kernel).map(|(w, k)| w * k).sum())
                    .collect();
                for (p, (got, want)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (got - want).abs() < 1e-5,
                        "F({}) reversed {reversed}, position {p}: {got} against {want}",
                        scheme.m
                    );
                }
            }
        }
    }
}
