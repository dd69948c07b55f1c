//! Vectors made over the cores. Freed memory is kept for reuse ([`crate::allocator`]), so a
//! large `vec![0.0; n]` is a memset of dirty memory, and an elementwise op a pass over
//! megabytes; on the thread that runs the step, between two parallel kernels, either held the
//! other cores idle (the zeroing was the largest serial part of a resnet50 frozen step,
//! BENCHMARKS.md).

use rayon::prelude::*;

/// Below this many values one thread does the work sooner than it could wake another (256 KiB).
const PARALLEL_FROM: usize = 1 << 16;

/// The fewest values per task. Rayon's indexed `collect` writes each task's values straight
/// into the vector, with no copy after.
const CHUNK: usize = 1 << 15;

/// `len` zeros.
pub fn zeros(len: usize) -> Vec<f32> {
    if len < PARALLEL_FROM {
        return vec![0.0; len];
    }
    (0..len).into_par_iter().with_min_len(CHUNK).map(|_| 0.0).collect()
}

/// `f(a[i])` for each value of `a`.
pub fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync + Send) -> Vec<f32> {
    if a.len() < PARALLEL_FROM {
        return a.iter().map(|&a| f(a)).collect();
    }
    a.par_iter().with_min_len(CHUNK).map(|&a| f(a)).collect()
}

/// `f(a[i], b[i])` for each pair of values; `a` and `b` are as long.
pub fn zip_map(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "zip_map: the operands differ in length");
    if a.len() < PARALLEL_FROM {
        return a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect();
    }
    a.par_iter()
        .zip(b)
        .with_min_len(CHUNK)
        .map(|(&a, &b)| f(a, b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Below and at the parallel size, and with a last chunk shorter than the rest.
    const LENGTHS: [usize; 5] = [0, 1, PARALLEL_FROM - 1, PARALLEL_FROM, 3 * CHUNK + 7];

    #[test]
    fn zeros_are_len_zeros() {
        for len in LENGTHS {
            let v = zeros(len);
            assert_eq!(v.len(), len);
            assert!(v.iter().all(|&x| x == 0.0), "len {len}");
        }
    }

    #[test]
    fn map_and_zip_map_apply_f_at_every_index() {
        for len in LENGTHS {
            let a: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let b: Vec<f32> = (0..len).map(|i| (i % 7) as f32).collect();
            let doubled = map(&a, |x| 2.0 * x);
            assert_eq!(doubled.len(), len);
            assert!(
                doubled.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32),
                "len {len}"
            );
            let differences = zip_map(&a, &b, |x, y| x - y);
            assert!(
                differences
                    .iter()
                    .enumerate()
                    .all(|(i, &v)| v == i as f32 - (i % 7) as f32),
                "len {len}"
            );
        }
    }
}
