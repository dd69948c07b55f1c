//! The convolution itself as im2col + one matrix multiply per image (or per group of small
//! images, [`super::grouped`]), on plain f32 slices.

use rayon::prelude::*;

use super::crop::Crop;
use super::geometry::ConvGeometry;
use super::grouped::{Grouping, TOGETHER_FORWARD_UP_TO, each_group, scatter};
use super::matmul::matmul;
use super::patches::im2col;
use super::split::Split;
use super::winograd;
use crate::fill::zeros;

/// Y[n, co, oy, ox] = bias[co] + Σ over input channels and kernel positions of
/// W[co, ci, ky, kx] · x[n, ci, oy·sh + ky − ph, ox·sw + kx − pw]. `x` is `[N, Cin, H, W]`,
/// `w` `[Cout, Cin, kh, kw]`, `bias` `[Cout]`, all row-major; the result is `[N, Cout, Ho, Wo]`.
pub fn conv2d_forward(g: &ConvGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    match Crop::of(g) {
        Some(crop) => conv2d_forward(&crop.geometry, x, &crop.weights(w), bias),
        None if winograd::chosen(g) => winograd::forward(g, x, w, bias),
        None => forward_grouped_as(Grouping::of(g, TOGETHER_FORWARD_UP_TO), g, x, w, bias),
    }
}

/// [`conv2d_forward`] with the images spread over multiplies as `grouping` says.
pub fn forward_grouped_as(
    grouping: Grouping,
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let pixels = g.pixels();
    let ck = g.patch_len();
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(w.len(), g.out_channels * ck, "weight does not match {g:?}");
    assert!(
        bias.is_none_or(|b| b.len() == g.out_channels),
        "bias does not match {g:?}"
    );
    let mut y = zeros(g.batch * g.out_channels * pixels);
    let (images, side_by_side) = grouping.plan(g.batch);
    if images > 1 {
        forward_grouped(images, side_by_side, g, x, w, bias, &mut y);
        return y;
    }
    let split = Split::of(g.batch);
    y.par_chunks_exact_mut(g.out_channels * pixels)
        .zip(x.par_chunks_exact(g.image_len()))
        .with_min_len(split.min_images)
        .for_each_init(
            || vec![0f32; g.cols_len()],
            |cols, (y_n, image)| {
                let cols: &[f32] = if g.is_pointwise() {
                    image
                } else {
                    im2col(g, image, cols, pixels);
                    cols
                };
                weights_times(g, w, bias, cols, pixels, y_n, split.gemm);
            },
        );
    y
}

/// Each group's patches side by side in one multiply: Y (Cout x n·P) = bias + W · cols; the
/// groups on threads of their own, or one after another with each multiply split.
fn forward_grouped(
    images: usize,
    side_by_side: bool,
    g: &ConvGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
) {
    let (pixels, ck) = (g.pixels(), g.patch_len());
    let buffers = || {
        (
            vec![0f32; ck * images * pixels],
            vec![0f32; g.out_channels * images * pixels],
        )
    };
    let group = |(cols, rows): &mut (Vec<f32>, Vec<f32>), (group, y_group): (&[f32], &mut [f32]), parallelism| {
        let columns = group.len() / g.image_len() * pixels;
        for (j, image) in group.chunks_exact(g.image_len()).enumerate() {
            im2col(g, image, &mut cols[j * pixels..ck * columns], columns);
        }
        let rows = &mut rows[..g.out_channels * columns];
        weights_times(g, w, bias, &cols[..ck * columns], columns, rows, parallelism);
        scatter(rows, g.out_channels, pixels, y_group);
    };
    let (x_len, y_len) = (images * g.image_len(), images * g.out_channels * pixels);
    each_group(side_by_side, (x, x_len), (y, y_len), buffers, group);
}

/// out (Cout x columns) = bias + W (Cout x ck) · cols (ck x columns).
fn weights_times(
    g: &ConvGeometry,
    w: &[f32],
    bias: Option<&[f32]>,
    cols: &[f32],
    columns: usize,
    out: &mut [f32],
    parallelism: gemm::Parallelism,
) {
    if let Some(bias) = bias {
        for (row, b) in out.chunks_exact_mut(columns).zip(bias) {
            row.fill(*b);
        }
    }
    matmul(
        [g.out_channels, columns, g.patch_len()],
        out,
        bias.is_some(),
        (w, false),
        (cols, false),
        parallelism,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, burn_forward, geometries, groupings, random};
    use super::*;

    #[test]
    fn matches_burns_convolution_with_and_without_bias() {
        for g in geometries() {
            let x = random(g.input_shape(), 7);
            let weight = random(g.weight_shape(), 8);
            let bias = random([g.out_channels, 1, 1, 1], 9);
            for bias in [None, Some(bias.as_slice())] {
                let expected = burn_forward(&g, &x, &weight, bias);
                for grouping in groupings(&g) {
                    let got = forward_grouped_as(grouping, &g, &x, &weight, bias);
                    assert_close(
                        &format!("{g:?}, bias {}, {grouping:?}", bias.is_some()),
                        &got,
                        &expected,
                    );
                }
            }
        }
    }
}
