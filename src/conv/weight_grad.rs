//! The convolution weight gradient as im2col + one matrix multiply per image, on plain f32
//! slices. Burn's default computes it as a convolution over batch/channel-swapped views, which
//! Flex copies element by element; this is 4–8x faster on ResNet's shapes
//! (`cargo bench --bench conv`, BENCHMARKS.md).

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::patches::im2col;
use super::split::Split;

/// dW[co, ci, ky, kx] = Σ over images and output pixels of dY[n, co, p] · x[n, ci, p + k].
/// `x` is `[N, Cin, H, W]` and `dy` `[N, Cout, Ho, Wo]`, both row-major; the result is
/// `[Cout, Cin, kh, kw]`, row-major.
pub fn conv2d_weight_grad(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let pixels = g.pixels();
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(
        dy.len(),
        g.batch * g.out_channels * pixels,
        "output gradient does not match {g:?}"
    );
    let ck = g.patch_len();
    let dw_len = g.out_channels * ck;
    let cols_len = if g.is_pointwise() { 0 } else { ck * pixels };
    let split = Split::of(g.batch);
    // Each thread sums its images into its own dW; the partial sums are added at the end.
    x.par_chunks_exact(g.image_len())
        .zip(dy.par_chunks_exact(g.out_channels * pixels))
        .with_min_len(split.min_images)
        .fold(
            || (vec![0f32; cols_len], Vec::new()),
            |(mut cols, mut dw), (image, dy_n)| {
                let started = !dw.is_empty();
                dw.resize(dw_len, 0.0);
                let patches: &[f32] = if g.is_pointwise() {
                    image
                } else {
                    im2col(g, image, &mut cols);
                    &cols
                };
                // dW (Cout x ck) += dY_n (Cout x P) · colsᵀ (P x ck); a thread's first image overwrites.
                // SAFETY: each pointer covers rows x columns values at the strides given, checked above.
                unsafe {
                    gemm::gemm(
                        g.out_channels,
                        ck,
                        pixels,
                        dw.as_mut_ptr(),
                        1,
                        ck as isize,
                        started,
                        dy_n.as_ptr(),
                        1,
                        pixels as isize,
                        patches.as_ptr(),
                        pixels as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        split.gemm,
                    );
                }
                (cols, dw)
            },
        )
        .map(|(_, dw)| dw)
        .filter(|dw| !dw.is_empty())
        .reduce_with(|mut sum, dw| {
            sum.iter_mut().zip(&dw).for_each(|(s, d)| *s += d);
            sum
        })
        .unwrap_or_else(|| vec![0f32; dw_len])
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
            assert_close(&format!("{g:?}"), &conv2d_weight_grad(&g, &x, &dy), &expected);
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
