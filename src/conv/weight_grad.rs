//! The convolution weight gradient as im2col + one matrix multiply per image, on plain f32
//! slices. Burn's default computes it as a convolution over batch/channel-swapped views, which
//! Flex copies element by element; this is 4–8x faster on ResNet's shapes
//! (`cargo bench --bench conv`, BENCHMARKS.md).

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::grouped::{GROUP_FORWARD_UP_TO, gather, images_per_multiply};
use super::matmul::matmul;
use super::patches::im2col;
use super::split::Split;

/// dW[co, ci, ky, kx] = Σ over images and output pixels of dY[n, co, p] · x[n, ci, p + k].
/// `x` is `[N, Cin, H, W]` and `dy` `[N, Cout, Ho, Wo]`, both row-major; the result is
/// `[Cout, Cin, kh, kw]`, row-major.
pub fn conv2d_weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    weight_grad_in_groups_of(images_per_multiply(g, GROUP_FORWARD_UP_TO), g, x, dy)
}

/// [`conv2d_weight_grad`] with `images` images per multiply.
pub fn weight_grad_in_groups_of(images: usize, g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let pixels = g.pixels();
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(
        dy.len(),
        g.batch * g.out_channels * pixels,
        "output gradient does not match {g:?}"
    );
    let ck = g.patch_len();
    if images > 1 {
        return weight_grad_grouped(images, g, x, dy);
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
    let mut partials = partials.into_iter();
    let mut dw = partials.next().unwrap_or_else(|| vec![0f32; g.out_channels * ck]);
    for partial in partials {
        dw.iter_mut().zip(&partial).for_each(|(s, p)| *s += p);
    }
    dw
}

/// Each group's patches side by side in one multiply, dW (Cout x ck) += dY (Cout x n·P) ·
/// colsᵀ (n·P x ck), the groups in order (the multiply splits rows and columns, never the
/// sum, so the rounding does not depend on the thread count either).
fn weight_grad_grouped(images: usize, g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (pixels, ck) = (g.pixels(), g.patch_len());
    let mut dw = vec![0f32; g.out_channels * ck];
    let mut cols = vec![0f32; ck * images * pixels];
    let mut dy_rows = vec![0f32; g.out_channels * images * pixels];
    let groups = x
        .chunks(images * g.image_len())
        .zip(dy.chunks(images * g.out_channels * pixels));
    for (i, (group, dy_group)) in groups.enumerate() {
        let columns = group.len() / g.image_len() * pixels;
        for (j, image) in group.chunks_exact(g.image_len()).enumerate() {
            im2col(g, image, &mut cols[j * pixels..ck * columns], columns);
        }
        gather(dy_group, g.out_channels, pixels, &mut dy_rows);
        matmul(
            [g.out_channels, ck, columns],
            &mut dw,
            i > 0,
            (&dy_rows[..g.out_channels * columns], false),
            (&cols[..ck * columns], true),
            gemm::Parallelism::Rayon(0),
        );
    }
    dw
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, burn_grads, geometries, random};
    use super::*;

    #[test]
    fn matches_burns_weight_gradient() {
        for g in geometries() {
            let x = random(g.input_shape(), 1);
            let dy = random(g.output_shape(), 2);
            let (_, expected) = burn_grads(&g, &x, &random(g.weight_shape(), 3), &dy);
            for images in [1, 2, g.batch] {
                let got = weight_grad_in_groups_of(images, &g, &x, &dy);
                assert_close(&format!("{g:?}, {images} per multiply"), &got, &expected);
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
