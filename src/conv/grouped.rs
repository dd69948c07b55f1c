//! Several images in one matrix multiply. Deep in a ResNet an image has few output pixels
//! (7x7 at 224 px, 1x1 at 32 px), and one multiply per image is then a thin matrix that
//! repacks the whole weight matrix for a handful of columns. Laying a group of images' columns
//! side by side ([rows, image, pixel]) makes one wide multiply, split over the cores.

use rayon::prelude::*;

use super::geometry::ConvGeometry;

/// Columns a grouped multiply should have at least: images are grouped until they reach it.
const MIN_COLUMNS: usize = 512;

/// The most output pixels per image at which the forward convolution and the weight gradient
/// group images. `cargo bench --bench conv -- --grouping` (BENCHMARKS.md): at 1 pixel grouping
/// was 2.2–4.9x faster, at 4 pixels 1.8–2.3x for the forward and 0.8–1.1x for the weight
/// gradient; at 16, 49 and 196 one image per multiply (whole images per thread) was as fast
/// or faster.
pub const GROUP_FORWARD_UP_TO: usize = 9;

/// The same for the input gradient, whose multiply (a tall `Wᵀ`) gained 1.5–1.9x at 49 pixels.
pub const GROUP_INPUT_GRAD_UP_TO: usize = 49;

/// How many images go into one multiply: 1 (each image alone, whole images per thread)
/// when an image has more than `up_to` output pixels.
pub fn images_per_multiply(g: &ConvGeometry, up_to: usize) -> usize {
    if g.pixels() > up_to || g.pixels() == 0 {
        1
    } else {
        MIN_COLUMNS.div_ceil(g.pixels()).min(g.batch.max(1))
    }
}

/// Copies row-major images `[n, channels, pixels]` into `[channels, n · pixels]`.
pub fn gather(images: &[f32], channels: usize, pixels: usize, out: &mut [f32]) {
    let n = images.len() / (channels * pixels);
    out[..channels * n * pixels]
        .par_chunks_exact_mut(n * pixels)
        .enumerate()
        .for_each(|(c, row)| {
            for (j, dst) in row.chunks_exact_mut(pixels).enumerate() {
                dst.copy_from_slice(&images[(j * channels + c) * pixels..][..pixels]);
            }
        });
}

/// The inverse of [`gather`]: `[channels, n · pixels]` back into images `[n, channels, pixels]`.
pub fn scatter(rows: &[f32], channels: usize, pixels: usize, images: &mut [f32]) {
    let n = images.len() / (channels * pixels);
    images
        .par_chunks_exact_mut(channels * pixels)
        .enumerate()
        .for_each(|(j, image)| {
            for (c, dst) in image.chunks_exact_mut(pixels).enumerate() {
                dst.copy_from_slice(&rows[c * n * pixels + j * pixels..][..pixels]);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_undoes_gather_and_gather_puts_each_image_in_its_columns() {
        let (n, channels, pixels) = (3, 2, 4);
        let images: Vec<f32> = (0..n * channels * pixels).map(|v| v as f32).collect();
        let mut rows = vec![0.0; images.len()];
        gather(&images, channels, pixels, &mut rows);
        // Row c holds image 0's channel c, then image 1's, then image 2's.
        assert_eq!(&rows[..12], &[0., 1., 2., 3., 8., 9., 10., 11., 16., 17., 18., 19.]);
        let mut back = vec![0.0; images.len()];
        scatter(&rows, channels, pixels, &mut back);
        assert_eq!(back, images);
    }

    #[test]
    fn small_images_are_grouped_up_to_the_batch_and_larger_ones_are_not() {
        let g = |side: usize, batch: usize| ConvGeometry {
            batch,
            in_channels: 1,
            out_channels: 1,
            input: [side, side],
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
        };
        assert_eq!(images_per_multiply(&g(7, 8), 49), 8, "49 pixels: the whole batch of 8");
        assert_eq!(
            images_per_multiply(&g(7, 64), 49),
            11,
            "49 pixels: 11 images reach 512 columns"
        );
        assert_eq!(
            images_per_multiply(&g(7, 64), 9),
            1,
            "49 pixels, more than 9: each image alone"
        );
        assert_eq!(images_per_multiply(&g(28, 8), 49), 1, "784 pixels: each image alone");
    }
}
