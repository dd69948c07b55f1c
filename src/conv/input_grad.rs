//! The convolution input gradient as one matrix multiply per image and col2im, on plain f32
//! slices. Flex's own (a transposed convolution) scatters its columns on one thread with a
//! bounds check per value; this scatters whole rows, images spread over the cores.

use rayon::prelude::*;

use super::crop::Crop;
use super::geometry::ConvGeometry;
use super::grouped::{Grouping, TOGETHER_INPUT_GRAD_UP_TO, each_group, gather};
use super::matmul::matmul;
use super::patches::col2im;
use super::split::Split;
use super::winograd;
use crate::fill::zeros;

/// dX[n, ci, iy, ix] = Σ over output channels and kernel positions of W[co, ci, ky, kx] ·
/// dY[n, co, oy, ox] where iy = oy·sh + ky − ph (and likewise for x). `w` is
/// `[Cout, Cin, kh, kw]` and `dy` `[N, Cout, Ho, Wo]`, both row-major; the result is
/// `[N, Cin, H, W]`, row-major.
pub fn conv2d_input_grad(g: &ConvGeometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    match Crop::of(g) {
        Some(crop) => conv2d_input_grad(&crop.geometry, &crop.weights(w), dy),
        None if winograd::chosen(g) => winograd::input_grad(g, w, dy),
        None => input_grad_grouped_as(Grouping::of(g, TOGETHER_INPUT_GRAD_UP_TO), g, w, dy),
    }
}

/// [`conv2d_input_grad`] with the images spread over multiplies as `grouping` says.
pub fn input_grad_grouped_as(grouping: Grouping, g: &ConvGeometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let pixels = g.pixels();
    let ck = g.patch_len();
    assert_eq!(w.len(), g.out_channels * ck, "weight does not match {g:?}");
    assert_eq!(
        dy.len(),
        g.batch * g.out_channels * pixels,
        "output gradient does not match {g:?}"
    );
    let mut dx = zeros(g.batch * g.image_len());
    let (images, side_by_side) = grouping.plan(g.batch);
    if images > 1 {
        input_grad_grouped(images, side_by_side, g, w, dy, &mut dx);
        return dx;
    }
    let split = Split::of(g.batch);
    dx.par_chunks_exact_mut(g.image_len())
        .zip(dy.par_chunks_exact(g.out_channels * pixels))
        .with_min_len(split.min_images)
        .for_each_init(
            || vec![0f32; g.cols_len()],
            |cols, (dx_n, dy_n)| {
                // Columns (ck x P) = Wᵀ (ck x Cout) · dY_n (Cout x P); a pointwise conv's
                // columns are dX_n itself.
                let dst: &mut [f32] = if g.is_pointwise() { dx_n } else { cols };
                matmul(
                    [ck, pixels, g.out_channels],
                    dst,
                    false,
                    (w, true),
                    (dy_n, false),
                    split.gemm,
                );
                if !g.is_pointwise() {
                    col2im(g, cols, dx_n, pixels);
                }
            },
        );
    dx
}

/// Each group's output gradients side by side in one multiply, cols (ck x n·P) = Wᵀ · dY; the
/// groups on threads of their own, or one after another with each multiply split.
fn input_grad_grouped(images: usize, side_by_side: bool, g: &ConvGeometry, w: &[f32], dy: &[f32], dx: &mut [f32]) {
    let (pixels, ck) = (g.pixels(), g.patch_len());
    let buffers = || {
        (
            vec![0f32; g.out_channels * images * pixels],
            vec![0f32; ck * images * pixels],
        )
    };
    let group =
        |(dy_rows, cols): &mut (Vec<f32>, Vec<f32>), (dy_group, dx_group): (&[f32], &mut [f32]), parallelism| {
            let columns = dy_group.len() / g.out_channels;
            gather(dy_group, g.out_channels, pixels, dy_rows);
            matmul(
                [ck, columns, g.out_channels],
                &mut cols[..ck * columns],
                false,
                (w, true),
                (&dy_rows[..g.out_channels * columns], false),
                parallelism,
            );
            for (j, dx_n) in dx_group.chunks_exact_mut(g.image_len()).enumerate() {
                col2im(g, &cols[j * pixels..ck * columns], dx_n, columns);
            }
        };
    let (dy_len, dx_len) = (images * g.out_channels * pixels, images * g.image_len());
    each_group(side_by_side, (dy, dy_len), (dx, dx_len), buffers, group);
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, burn_grads, geometries, groupings, random};
    use super::*;

    #[test]
    fn matches_burns_input_gradient() {
        for g in geometries() {
            let weight = random(g.weight_shape(), 4);
            let dy = random(g.output_shape(), 5);
            let (expected, _) = burn_grads(&g, &random(g.input_shape(), 6), &weight, &dy);
            for grouping in groupings(&g) {
                let got = input_grad_grouped_as(grouping, &g, &weight, &dy);
                assert_close(&format!("{g:?}, {grouping:?}"), &got, &expected);
            }
        }
    }

    #[test]
    #[should_panic(expected = "weight does not match")]
    fn refuses_a_weight_of_the_wrong_size() {
        let g = ConvGeometry {
            batch: 1,
            in_channels: 2,
            out_channels: 1,
            input: [4, 4],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
        };
        conv2d_input_grad(&g, &[0.0; 9], &[0.0; 16]);
    }
}
