//! The convolution weight gradient as im2col + one matrix multiply per image, on plain f32
//! slices. Burn's default computes it as a convolution over batch/channel-swapped views, which
//! Flex copies element by element; this is 4–8x faster on ResNet's shapes
//! (`cargo bench --bench conv`, BENCHMARKS.md).

use rayon::prelude::*;

use super::crop::Crop;
use super::geometry::ConvGeometry;
use super::grouped::{Grouping, TOGETHER_FORWARD_UP_TO, gather, sum_in_order, sum_over_groups};
use super::matmul::matmul;
use super::patches::im2col;
use super::split::Split;
use super::winograd;

/// dW[co, ci, ky, kx] = Σ over images and output pixels of dY[n, co, p] · x[n, ci, p + k].
/// `x` is `[N, Cin, H, W]` and `dy` `[N, Cout, Ho, Wo]`, both row-major; the result is
/// `[Cout, Cin, kh, kw]`, row-major.
pub fn conv2d_weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    match Crop::of(g) {
        Some(crop) => crop.uncrop(&conv2d_weight_grad(&crop.geometry, x, dy)),
        None if winograd::chosen(g) => winograd::weight_grad(g, x, dy),
        None => weight_grad_grouped_as(Grouping::of(g, TOGETHER_FORWARD_UP_TO), g, x, dy),
    }
}

/// [`conv2d_weight_grad`] with the images spread over multiplies as `grouping` says.
pub fn weight_grad_grouped_as(grouping: Grouping, g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let pixels = g.pixels();
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(
        dy.len(),
        g.batch * g.out_channels * pixels,
        "output gradient does not match {g:?}"
    );
    let ck = g.patch_len();
    let (images, side_by_side) = grouping.plan(g.batch);
    if images > 1 {
        return weight_grad_grouped(images, side_by_side, g, x, dy);
    }
    let split = Split::of(g.batch);
    // Each group of `min_images` images is summed into its own dW, the groups' sums then added
    // in order: the same grouping and order whichever thread runs what, so the same rounding.
    let partials: Vec<Vec<f32>> = x
        .par_chunks(split.min_images * g.image_len())
        .zip(dy.par_chunks(split.min_images * g.out_channels * pixels))
        .map(|(images, dys)| {
            let mut dw = vec![0f32; g.out_channels * ck];
            let mut cols = vec![0f32; g.cols_len()];
            let per_image = images
                .chunks_exact(g.image_len())
                .zip(dys.chunks_exact(g.out_channels * pixels));
            for (n, (image, dy_n)) in per_image.enumerate() {
                let patches: &[f32] = if g.is_pointwise() {
                    image
                } else {
                    im2col(g, image, &mut cols, pixels);
                    &cols
                };
                // dW (Cout x ck) += dY_n (Cout x P) · colsᵀ (P x ck); the group's first image overwrites.
                matmul(
                    [g.out_channels, ck, pixels],
                    &mut dw,
                    n > 0,
                    (dy_n, false),
                    (patches, true),
                    split.gemm,
                );
            }
            dw
        })
        .collect();
    sum_in_order(partials, g.out_channels * ck)
}

/// Each group's patches side by side in one multiply, dW_group (Cout x ck) = dY (Cout x n·P) ·
/// colsᵀ (n·P x ck). Side by side, each group on its own thread makes its own sum and the sums
/// are added in order afterwards; one after another, the groups accumulate into one dW, each
/// multiply split over the threads (by rows and columns, never the sum). Either way the
/// rounding does not depend on which thread ran what.
fn weight_grad_grouped(images: usize, side_by_side: bool, g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (pixels, ck) = (g.pixels(), g.patch_len());
    let buffers = || {
        (
            vec![0f32; ck * images * pixels],
            vec![0f32; g.out_channels * images * pixels],
        )
    };
    let group = |(cols, dy_rows): &mut (Vec<f32>, Vec<f32>),
                 (group, dy_group): (&[f32], &[f32]),
                 dw: &mut [f32],
                 accumulate: bool,
                 parallelism| {
        let columns = group.len() / g.image_len() * pixels;
        for (j, image) in group.chunks_exact(g.image_len()).enumerate() {
            im2col(g, image, &mut cols[j * pixels..ck * columns], columns);
        }
        gather(dy_group, g.out_channels, pixels, dy_rows);
        matmul(
            [g.out_channels, ck, columns],
            dw,
            accumulate,
            (&dy_rows[..g.out_channels * columns], false),
            (&cols[..ck * columns], true),
            parallelism,
        );
    };
    let groups_len = (images * g.image_len(), images * g.out_channels * pixels);
    sum_over_groups(
        side_by_side,
        (x, groups_len.0),
        (dy, groups_len.1),
        g.out_channels * ck,
        buffers,
        group,
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, burn_grads, geometries, groupings, random};
    use super::*;

    #[test]
    fn matches_burns_weight_gradient() {
        for g in geometries() {
            let x = random(g.input_shape(), 1);
            let dy = random(g.output_shape(), 2);
            let (_, expected) = burn_grads(&g, &x, &random(g.weight_shape(), 3), &dy);
            for grouping in groupings(&g) {
                let got = weight_grad_grouped_as(grouping, &g, &x, &dy);
                assert_close(&format!("{g:?}, {grouping:?}"), &got, &expected);
            }
        }
    }

    #[test]
    #[should_panic(expected = "output gradient does not match")]
    fn refuses_an_output_gradient_of_the_wrong_size() {
        let g = ConvGeometry {
            batch: 1,
            in_channels: 1,
            out_channels: 1,
            input: [4, 4],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
        };
        conv2d_weight_grad(&g, &[0.0; 16], &[0.0; 15]);
    }
}
