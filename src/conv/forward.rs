//! The convolution itself as im2col + one matrix multiply per image, on plain f32 slices.

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use super::matmul::matmul;
use super::patches::im2col;
use super::split::Split;

/// Y[n, co, oy, ox] = bias[co] + Σ over input channels and kernel positions of
/// W[co, ci, ky, kx] · x[n, ci, oy·sh + ky − ph, ox·sw + kx − pw]. `x` is `[N, Cin, H, W]`,
/// `w` `[Cout, Cin, kh, kw]`, `bias` `[Cout]`, all row-major; the result is `[N, Cout, Ho, Wo]`.
pub fn conv2d_forward(g: &ConvGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let pixels = g.pixels();
    let ck = g.patch_len();
    assert_eq!(x.len(), g.batch * g.image_len(), "input does not match {g:?}");
    assert_eq!(w.len(), g.out_channels * ck, "weight does not match {g:?}");
    assert!(
        bias.is_none_or(|b| b.len() == g.out_channels),
        "bias does not match {g:?}"
    );
    let mut y = vec![0f32; g.batch * g.out_channels * pixels];
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
                    im2col(g, image, cols);
                    cols
                };
                if let Some(bias) = bias {
                    for (row, b) in y_n.chunks_exact_mut(pixels).zip(bias) {
                        row.fill(*b);
                    }
                }
                // Y_n (Cout x P) = bias + W (Cout x ck) · cols (ck x P).
                matmul(
                    [g.out_channels, pixels, ck],
                    y_n,
                    bias.is_some(),
                    (w, false),
                    (cols, false),
                    split.gemm,
                );
            },
        );
    y
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, burn_forward, geometries, random};
    use super::*;

    #[test]
    fn matches_burns_convolution_with_and_without_bias() {
        for g in geometries() {
            let x = random(g.input_shape(), 7);
            let weight = random(g.weight_shape(), 8);
            let bias = random([g.out_channels, 1, 1, 1], 9);
            for bias in [None, Some(bias.as_slice())] {
                let expected = burn_forward(&g, &x, &weight, bias);
                let got = conv2d_forward(&g, &x, &weight, bias);
                assert_close(&format!("{g:?}, bias {}", bias.is_some()), &got, &expected);
            }
        }
    }
}
