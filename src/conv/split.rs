//! How kiln's convolution kernels spread a batch over the cores.

/// Whole images per thread when there are at least as many images as threads (a ResNet
/// layer's per-image matrices are too small for the matrix multiply to split well: 1.42x
/// against 1.15x for splitting each multiply, `cargo bench --bench conv`); otherwise one image
/// at a time, with each multiply split.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    /// The fewest images one thread takes: `batch` means one thread walks them all in turn.
    pub min_images: usize,
    /// How each image's matrix multiply runs.
    pub gemm: gemm::Parallelism,
}

impl Split {
    pub fn of(batch: usize) -> Self {
        let threads = rayon::current_num_threads();
        if batch >= threads {
            Split {
                min_images: batch.div_ceil(threads),
                gemm: gemm::Parallelism::None,
            }
        } else {
            Split {
                min_images: batch.max(1),
                gemm: gemm::Parallelism::Rayon(0),
            }
        }
    }
}
