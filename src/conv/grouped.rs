//! Several images in one matrix multiply. Deep in a ResNet an image has few output pixels
//! (7x7 at 224 px, 1x1 at 32 px), and one multiply per image is then a thin matrix that
//! repacks the whole weight matrix for a handful of columns. Laying a group of images' columns
//! side by side ([rows, image, pixel]) makes one wider multiply: either one per thread over
//! its share of the batch, or one after another, each split over the cores.

use rayon::prelude::*;

use super::geometry::ConvGeometry;
use crate::fill::zeros;

/// Columns a multiply of [`Grouping::Together`] (and of Winograd's groups, whose columns
/// are tiles) should have at least: images are grouped until they reach it.
pub(super) const MIN_COLUMNS: usize = 512;

/// The most output pixels per image at which images share multiplies. `cargo bench --bench
/// conv -- --grouping` (BENCHMARKS.md): at 1–49 pixels one multiply per thread over its share
/// of the batch beat one per image (e.g. 4.3 against 18.8 ms, forward, 1 pixel, batch 64;
/// 10.3 against 11.3 at 49 pixels, batch 8) and putting the images together with every
/// multiply split (7.2 and 11.7 ms); at 64 pixels one per image was fastest (2.2 against 3.3).
pub const SHARED_UP_TO: usize = 49;

/// With too few images to give each thread two, the most output pixels at which the forward
/// convolution and the weight gradient put the images together: at 1 pixel that was 2.2–4.9x
/// faster than one image per multiply, at 4 pixels 1.8–2.3x for the forward and 0.8–1.1x
/// for the weight gradient.
pub const TOGETHER_FORWARD_UP_TO: usize = 9;

/// The same for the input gradient, whose multiply (a tall `Wᵀ`) gained 1.5–1.9x at 49 pixels.
pub const TOGETHER_INPUT_GRAD_UP_TO: usize = 49;

/// How a convolution spreads a batch over matrix multiplies and threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One multiply per image, whole images per thread when the batch has enough of them
    /// ([`super::split::Split`]).
    PerImage,
    /// One single-threaded multiply per thread over its share of the batch.
    PerThread,
    /// Groups of this many images, one multiply each, one group after another, each multiply
    /// split over the threads.
    Together(usize),
}

impl Grouping {
    /// kiln's choice for `g`: up to [`SHARED_UP_TO`] output pixels, one multiply per thread
    /// when each thread gets two images or more, else the images together up to
    /// `together_up_to` pixels; beyond, one multiply per image.
    pub fn of(g: &ConvGeometry, together_up_to: usize) -> Self {
        let enough_images = g.batch >= 2 * rayon::current_num_threads();
        match g.pixels() {
            0 => Grouping::PerImage,
            p if p <= SHARED_UP_TO && enough_images => Grouping::PerThread,
            p if p <= together_up_to => Grouping::Together(Grouping::together_images(g)),
            _ => Grouping::PerImage,
        }
    }

    /// How many images [`Grouping::Together`] puts in one multiply: as many as reach
    /// [`MIN_COLUMNS`] columns, at most the batch.
    pub fn together_images(g: &ConvGeometry) -> usize {
        MIN_COLUMNS.div_ceil(g.pixels().max(1)).min(g.batch.max(1))
    }

    /// Images per multiply, and whether the groups run side by side on their own threads
    /// (else one after another, each multiply using every thread).
    pub fn plan(self, batch: usize) -> (usize, bool) {
        match self {
            Grouping::PerImage => (1, true),
            Grouping::PerThread => (batch.div_ceil(rayon::current_num_threads()).max(1), true),
            Grouping::Together(images) => (images.max(1), false),
        }
    }
}

/// Runs `group` on each pair of an input group (`input_len` values) and its output group
/// (`output_len`): side by side on threads of their own, each multiply single-threaded, or one
/// after another, each multiply split over the threads. `buffers` makes one task's scratch.
pub fn each_group<T: Send>(
    side_by_side: bool,
    (input, input_len): (&[f32], usize),
    (output, output_len): (&mut [f32], usize),
    buffers: impl Fn() -> T + Sync + Send,
    group: impl Fn(&mut T, (&[f32], &mut [f32]), gemm::Parallelism) + Sync + Send,
) {
    if side_by_side {
        input
            .par_chunks(input_len)
            .zip(output.par_chunks_mut(output_len))
            .for_each_init(buffers, |b, pair| group(b, pair, gemm::Parallelism::None));
    } else {
        let mut b = buffers();
        for pair in input.chunks(input_len).zip(output.chunks_mut(output_len)) {
            group(&mut b, pair, gemm::Parallelism::Rayon(0));
        }
    }
}

/// The sum over groups of what `group` computes for each pair of an input group
/// (`first_len` values of `first`) and its match in `second` (`second_len` values): `len`
/// values. Side by side, each group on its own thread makes its own sum (multiplies
/// single-threaded) and the sums are added in order afterwards; one after another, the groups
/// accumulate into one sum, each multiply split over the threads (by rows and columns, never
/// the sum). Either way the rounding does not depend on which thread ran what. `group` gets
/// its scratch, the pair, the sum and whether to add to it (else overwrite it).
pub fn sum_over_groups<T: Send>(
    side_by_side: bool,
    (first, first_len): (&[f32], usize),
    (second, second_len): (&[f32], usize),
    len: usize,
    buffers: impl Fn() -> T + Sync + Send,
    group: impl Fn(&mut T, (&[f32], &[f32]), &mut [f32], bool, gemm::Parallelism) + Sync + Send,
) -> Vec<f32> {
    if side_by_side {
        let partials: Vec<Vec<f32>> = first
            .par_chunks(first_len)
            .zip(second.par_chunks(second_len))
            .map_init(buffers, |b, pair| {
                let mut sum = vec![0f32; len];
                group(b, pair, &mut sum, false, gemm::Parallelism::None);
                sum
            })
            .collect();
        return sum_in_order(partials, len);
    }
    let mut sum = zeros(len);
    let mut b = buffers();
    for (i, pair) in first.chunks(first_len).zip(second.chunks(second_len)).enumerate() {
        group(&mut b, pair, &mut sum, i > 0, gemm::Parallelism::Rayon(0));
    }
    sum
}

/// The partial sums added in order, the first taken as it is. Each stretch of the sum is a
/// task of its own (one thread adding a 1024 x 256 layer's partials held the other idle), and
/// adds the partials in the same order whichever thread runs it.
pub fn sum_in_order(partials: Vec<Vec<f32>>, len: usize) -> Vec<f32> {
    const STRETCH: usize = 1 << 14;
    let mut partials = partials.into_iter();
    let Some(mut sum) = partials.next() else {
        return zeros(len);
    };
    let rest: Vec<Vec<f32>> = partials.collect();
    debug_assert!(
        sum.len() == len && rest.iter().all(|p| p.len() == len),
        "sum_in_order: partials of {len} values expected"
    );
    sum.par_chunks_mut(STRETCH).enumerate().for_each(|(i, stretch)| {
        for partial in &rest {
            let partial = &partial[i * STRETCH..];
            stretch.iter_mut().zip(partial).for_each(|(s, p)| *s += p);
        }
    });
    sum
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
    fn images_share_multiplies_per_thread_when_small_and_many_together_when_few_and_not_when_large() {
        let threads = rayon::current_num_threads();
        let g = |side: usize, batch: usize| ConvGeometry::square(batch, [1, 1], side, [1, 1, 0]);
        let many = 2 * threads;
        assert_eq!(
            Grouping::of(&g(7, many), 9),
            Grouping::PerThread,
            "49 pixels, two images a thread"
        );
        assert_eq!(
            Grouping::of(&g(1, many), 9),
            Grouping::PerThread,
            "1 pixel, two images a thread"
        );
        assert_eq!(
            Grouping::of(&g(8, many), 49),
            Grouping::PerImage,
            "64 pixels: each image alone"
        );
        let few = 2 * threads - 1;
        assert_eq!(
            Grouping::of(&g(7, few), 49),
            Grouping::Together(few),
            "49 pixels, too few images for two a thread: together up to 49"
        );
        assert_eq!(
            Grouping::of(&g(7, few), 9),
            Grouping::PerImage,
            "49 pixels, more than 9"
        );
        assert_eq!(
            Grouping::of(&g(1, 1000), 9).plan(1000),
            ((1000usize).div_ceil(threads), true)
        );
        assert_eq!(Grouping::Together(3).plan(8), (3, false));
    }
}
