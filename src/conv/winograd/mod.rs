//! 3x3, stride-1, padding-1 convolutions (every 3x3 of a ResNet but the first of a
//! downsampling stage) by Winograd's minimal filtering ([`tiles`]): F(4x4, 3x3) takes 36
//! multiplies for a 4x4 output tile instead of 144, F(2x2, 3x3) 16 for 2x2 instead of 36.
//! Per position p of the transformed α x α tiles the convolution is one matrix multiply,
//! `M[p] (Cout x tiles) = U[p] (Cout x Cin) · V[p] (Cin x tiles)`, with `U` the transformed
//! kernels and `V` the transformed input tiles.
//!
//! Its two gradients are the same transforms run backwards: the weight gradient multiplies
//! the transformed output gradient by `Vᵀ` at each position, the input gradient is the
//! forward convolution of the output gradient with the flipped, transposed kernel.
//! Algebraically exact; rounding differs from im2col by a few ulps.

mod f2;
mod tiles;

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::grouped::{MIN_COLUMNS, each_group, sum_over_groups};
use super::matmul::{Strided, matmul_strided};
use super::scratch::Buffer;
pub use tiles::{F2, F4, Scheme};
use tiles::{Tiling, Work};

use crate::fill::zeros;

/// The fewest output pixels per image at which kiln's convolutions (forward and both
/// gradients) use this module. `cargo bench --bench conv -- --winograd` (BENCHMARKS.md),
/// batch 8, against im2col: 1.1–1.7x at 56x56, 0.9–1.5x at 28x28, 1.1–1.6x at 14x14 (1.0–1.3x
/// before the kernels' transform became one multiply), 0.8–1.25x at 7x7, where 16 tiles an
/// image make the per-position multiplies thin (the transformed weights, 16/9 the kernels'
/// size, are packed for a few columns each).
pub const FROM_PIXELS: usize = 14 * 14;

/// The scheme kiln computes with: F(2x2, 3x3). F(4x4, 3x3) does a quarter of the direct
/// multiplies against F(2x2)'s 4/9, but its transforms move more values and it rounds ten
/// times worse (1e-5 against 1e-6 of the largest value); in the same runs it went 0.65–1.45x
/// F(2x2)'s speed at 28–56 px, 0.45–0.75x at 14: not enough to pay for the rounding.
pub const SCHEME: Scheme = F2;

/// Whether `g` is a convolution this module computes.
pub fn applies(g: &ConvGeometry) -> bool {
    g.kernel == [3, 3] && g.stride == [1, 1] && g.padding == [1, 1]
}

/// Whether kiln computes `g` and its gradients here rather than by im2col.
pub fn chosen(g: &ConvGeometry) -> bool {
    applies(g) && g.pixels() >= FROM_PIXELS
}

/// Images per group, and whether the groups run side by side on threads of their own (each
/// group single-threaded) or one after another (each group's work split over the threads).
fn plan(tiling: Tiling, g: &ConvGeometry) -> (usize, bool) {
    let threads = rayon::current_num_threads();
    if g.batch < threads {
        return (g.batch.max(1), false);
    }
    let tiles = tiling.count().max(1);
    (MIN_COLUMNS.div_ceil(tiles).clamp(1, g.batch.div_ceil(threads)), true)
}

/// The forward convolution: `x` `[N, Cin, H, W]`, `w` `[Cout, Cin, 3, 3]`, `bias` `[Cout]`,
/// all row-major; the result is `[N, Cout, H, W]`.
pub fn forward(g: &ConvGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    forward_with(SCHEME, g, x, w, bias)
}

/// [`forward`] by `scheme`.
pub fn forward_with(scheme: Scheme, g: &ConvGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    assert!(applies(g), "not a padded 3x3 stride-1 convolution: {g:?}");
    convolve(scheme, g, x, (w, false), bias)
}

/// The convolution of `x` with the kernels `w` `[out][in][3][3]`, or (`turned`) with those
/// stored `[in][out][3][3]`, each turned half a circle: the input gradient of the
/// convolution by `w`. Turned, U keeps `w`'s layout, `[p][in][out]`, and each position's
/// matrix is read transposed.
fn convolve(
    scheme: Scheme,
    g: &ConvGeometry,
    x: &[f32],
    (w, turned): (&[f32], bool),
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert_eq!(w.len(), g.out_channels * g.patch_len(), "weight does not match {g:?}");
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert!(
        bias.is_none_or(|b| b.len() == g.out_channels),
        "bias does not match {g:?}"
    );
    let tiling = Tiling { size: g.input, scheme };
    let (cin, cout, plane, positions) = (g.in_channels, g.out_channels, tiling.plane_len(), scheme.positions());
    let u = kernel_tiles(scheme, w, turned);
    let mut y = zeros(g.batch * cout * plane);
    let (images, side_by_side) = plan(tiling, g);
    let columns = images * tiling.count();
    let buffers = || {
        (
            Buffer::take(positions * cin * columns),
            Buffer::take(positions * cout * columns),
        )
    };
    let group = |(v, m): &mut (Buffer, Buffer), (xg, yg): (&[f32], &mut [f32]), parallelism| {
        let parallel = !matches!(parallelism, gemm::Parallelism::None);
        let n = xg.len() / g.image_len();
        let cols = n * tiling.count();
        let (v, m) = (&mut v[..positions * cin * cols], &mut m[..positions * cout * cols]);
        transform_planes(parallel, tiling, xg, cin, v, tiles::input_tiles);
        // M[p] = U[p] · V[p]: V lies [ci][p][tile], M [p][co][tile].
        chunks(parallel, m, cout * cols, |p, m_p| {
            matmul_strided(
                [cout, cols, cin],
                (m_p, cols),
                false,
                Strided::row_major(&u[p * cout * cin..], cin, cout, turned),
                position(v, p, positions, cols),
                gemm::Parallelism::None,
            );
        });
        let m = &*m;
        chunks_with(parallel, yg, plane, Work::default, |work, i, out| {
            let (image, co) = (i / cout, i % cout);
            let first = co * cols + image * tiling.count();
            let b = bias.map_or(0.0, |b| b[co]);
            tiles::output_plane(tiling, &m[first..], cout * cols, b, out, work);
        });
    };
    let (x_len, y_len) = (images * g.image_len(), images * cout * plane);
    each_group(side_by_side, (x, x_len), (&mut y, y_len), buffers, group);
    y
}

/// The weight gradient: `x` `[N, Cin, H, W]` and `dy` `[N, Cout, H, W]`, row-major; the
/// result is `[Cout, Cin, 3, 3]`. dU[p] = Σ over groups of dM[p] · V[p]ᵀ, then each kernel's
/// α² values back to its 9.
pub fn weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    weight_grad_with(SCHEME, g, x, dy)
}

/// [`weight_grad`] by `scheme`.
pub fn weight_grad_with(scheme: Scheme, g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    assert!(applies(g), "not a padded 3x3 stride-1 convolution: {g:?}");
    let tiling = Tiling { size: g.input, scheme };
    let (cin, cout, plane, positions) = (g.in_channels, g.out_channels, tiling.plane_len(), scheme.positions());
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(dy.len(), g.batch * cout * plane, "output gradient does not match {g:?}");
    let (images, side_by_side) = plan(tiling, g);
    let columns = images * tiling.count();
    let buffers = || {
        (
            Buffer::take(positions * cin * columns),
            Buffer::take(positions * cout * columns),
        )
    };
    let group =
        |(v, dm): &mut (Buffer, Buffer), (xg, dyg): (&[f32], &[f32]), du: &mut [f32], accumulate, parallelism| {
            let parallel = !matches!(parallelism, gemm::Parallelism::None);
            let n = xg.len() / g.image_len();
            let cols = n * tiling.count();
            let (v, dm) = (&mut v[..positions * cin * cols], &mut dm[..positions * cout * cols]);
            transform_planes(parallel, tiling, xg, cin, v, tiles::input_tiles);
            transform_planes(parallel, tiling, dyg, cout, dm, tiles::output_grad_tiles);
            let (v, dm) = (&*v, &*dm);
            // dU[p] (Cout x Cin) = dM[p] (Cout x tiles) · V[p]ᵀ (tiles x Cin), both [channel][p][tile].
            chunks(parallel, du, cout * cin, |p, du_p| {
                let vt = Strided {
                    data: &v[p * cols..],
                    row_stride: 1,
                    col_stride: positions * cols,
                };
                matmul_strided(
                    [cout, cin, cols],
                    (du_p, cin),
                    accumulate,
                    position(dm, p, positions, cols),
                    vt,
                    gemm::Parallelism::None,
                );
            });
        };
    let du_len = positions * cout * cin;
    let (x_len, dy_len) = (images * g.image_len(), images * cout * plane);
    let du = sum_over_groups(side_by_side, (x, x_len), (dy, dy_len), du_len, buffers, group);
    kernel_grads(scheme, &du)
}

/// The input gradient: `w` `[Cout, Cin, 3, 3]` and `dy` `[N, Cout, H, W]`, row-major; the
/// result is `[N, Cin, H, W]`: dy convolved with each kernel turned half a circle, input and
/// output channels swapped.
pub fn input_grad(g: &ConvGeometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    input_grad_with(SCHEME, g, w, dy)
}

/// [`input_grad`] by `scheme`.
pub fn input_grad_with(scheme: Scheme, g: &ConvGeometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    assert!(applies(g), "not a padded 3x3 stride-1 convolution: {g:?}");
    assert_eq!(w.len(), g.out_channels * g.patch_len(), "weight does not match {g:?}");
    let backwards = ConvGeometry {
        in_channels: g.out_channels,
        out_channels: g.in_channels,
        ..*g
    };
    convolve(scheme, &backwards, dy, (w, true), None)
}

/// U `[p][co][ci]` from the kernels `[co][ci][3][3]` (each turned half a circle if
/// `reversed`; the transform treats every (co, ci) pair alike, whichever layout they come in):
/// U (α² x Cout·Cin) = (G ⊗ G) (α² x 9) · the kernels (9 x Cout·Cin, read transposed), one
/// multiply over the threads. Transforming kernel by kernel instead took
/// 2.4 ms for 256 -> 256 (BENCHMARKS.md), and the input gradient's turned copy 1.4 ms more.
fn kernel_tiles(scheme: Scheme, w: &[f32], reversed: bool) -> Vec<f32> {
    let (pairs, positions) = (w.len() / 9, scheme.positions());
    let t = tiles::kernel_matrix(scheme, reversed);
    let mut u = zeros(positions * pairs);
    matmul_strided(
        [positions, pairs, 9],
        (&mut u, pairs),
        false,
        Strided::row_major(&t, 9, positions, false),
        Strided::row_major(w, pairs, 9, true),
        gemm::Parallelism::Rayon(0),
    );
    u
}

/// The kernels' gradients `[co][ci][3][3]` from dU `[p][co][ci]`: dU's transpose
/// (Cout·Cin x α²) times G ⊗ G (α² x 9), the adjoint of [`kernel_tiles`].
fn kernel_grads(scheme: Scheme, du: &[f32]) -> Vec<f32> {
    let positions = scheme.positions();
    let pairs = du.len() / positions;
    let t = tiles::kernel_matrix(scheme, false);
    let mut dw = vec![0f32; pairs * 9];
    matmul_strided(
        [pairs, 9, positions],
        (&mut dw, 9),
        false,
        Strided::row_major(du, positions, pairs, true),
        Strided::row_major(&t, 9, positions, false),
        gemm::Parallelism::Rayon(0),
    );
    dw
}

/// Position `p` of tiles laid out `[channel][p][tile]` (`positions` per tile), as a
/// `channels x cols` matrix.
fn position(values: &[f32], p: usize, positions: usize, cols: usize) -> Strided<'_> {
    Strided {
        data: &values[p * cols..],
        row_stride: positions * cols,
        col_stride: 1,
    }
}

/// Transforms each image's planes of `images` `[n][channel][plane]` into `out`
/// `[channel][p][n · tiles]`, one channel per task.
fn transform_planes(
    parallel: bool,
    tiling: Tiling,
    images: &[f32],
    channels: usize,
    out: &mut [f32],
    transform: impl Fn(Tiling, &[f32], &mut [f32], usize, &mut Work) + Sync + Send,
) {
    let (plane, count) = (tiling.plane_len(), tiling.count());
    let n = images.len() / (channels * plane);
    let cols = n * count;
    chunks_with(
        parallel,
        out,
        tiling.scheme.positions() * cols,
        Work::default,
        |work, c, out_c| {
            for image in 0..n {
                let src = &images[(image * channels + c) * plane..][..plane];
                transform(tiling, src, &mut out_c[image * count..], cols, work);
            }
        },
    );
}

/// `f(i, chunk)` for each `len`-sized chunk of `values`, over the threads or on this one.
fn chunks(parallel: bool, values: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    chunks_with(parallel, values, len, || (), |_, i, c| f(i, c));
}

/// [`chunks`] with working memory from `init`, one per task.
fn chunks_with<W>(
    parallel: bool,
    values: &mut [f32],
    len: usize,
    init: impl Fn() -> W + Sync + Send,
    f: impl Fn(&mut W, usize, &mut [f32]) + Sync + Send,
) {
    if parallel {
        values
            .par_chunks_mut(len)
            .enumerate()
            .for_each_init(init, |w, (i, c)| f(w, i, c));
    } else {
        let mut w = init();
        values.chunks_mut(len).enumerate().for_each(|(i, c)| f(&mut w, i, c));
    }
}

#[cfg(test)]
mod tests;
