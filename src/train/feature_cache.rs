//! Pooled features of a wholly frozen backbone, computed once per training image.
//!
//! When only the head trains and the training images are not augmented, every epoch feeds the
//! head the same features: the first epoch computes them (folded, without autodiff) and keeps
//! them; later epochs read them back and never touch the images or the backbone. Anything
//! that changes the backbone's output (an unfreeze, augmentation) means no cache.

use burn::tensor::TensorData;

/// Features by sample index, up to a memory bound.
pub struct FeatureCache {
    dim: usize,
    rows: Vec<Option<Box<[f32]>>>,
    filled: usize,
    /// Every image of an epoch went in: later epochs can run from the cache alone.
    complete: bool,
}

impl FeatureCache {
    /// A cache for `samples` images of `dim` features, or `None` when it would need more
    /// than `limit_bytes`.
    pub fn new(samples: usize, dim: usize, limit_bytes: usize) -> Option<Self> {
        let bytes = samples.checked_mul(dim)?.checked_mul(std::mem::size_of::<f32>())?;
        (bytes <= limit_bytes).then(|| Self {
            dim,
            rows: vec![None; samples],
            filled: 0,
            complete: false,
        })
    }

    /// Keeps the features (`indices.len() * dim` values, row-major) of these samples.
    pub fn put(&mut self, indices: &[usize], features: &[f32]) {
        assert_eq!(
            features.len(),
            indices.len() * self.dim,
            "one row of features per sample"
        );
        for (&i, row) in indices.iter().zip(features.chunks_exact(self.dim)) {
            if self.rows[i].is_none() {
                self.filled += 1;
            }
            self.rows[i] = Some(row.into());
        }
    }

    /// The features of these samples, row-major, with the indices that had none left out
    /// (images that never decoded), as the loader leaves them out of a batch.
    pub fn get(&self, indices: &[usize]) -> (Vec<usize>, Vec<f32>) {
        let mut found = Vec::with_capacity(indices.len());
        let mut out = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            if let Some(row) = &self.rows[i] {
                found.push(i);
                out.extend_from_slice(row);
            }
        }
        (found, out)
    }

    pub fn mark_complete(&mut self) {
        self.complete = true;
    }

    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// A batch from the cache: the samples found (as [`get`](Self::get) finds them) and their
    /// features `[found, dim]`; `None` when none was found.
    pub fn batch(&self, indices: &[usize]) -> Option<(Vec<usize>, TensorData)> {
        let (found, rows) = self.get(indices);
        if found.is_empty() {
            return None;
        }
        let n = found.len();
        Some((found, TensorData::new(rows, [n, self.dim])))
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.filled
    }

    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_by_sample_and_missing_ones_are_left_out() {
        let mut cache = FeatureCache::new(5, 2, 1 << 20).unwrap();
        assert!(cache.is_empty());
        cache.put(&[3, 0], &[3.0, 3.5, 0.0, 0.5]);
        cache.put(&[3], &[3.0, 3.5]);
        assert_eq!(cache.len(), 2);
        let (found, rows) = cache.get(&[0, 1, 3]);
        assert_eq!(found, [0, 3]);
        assert_eq!(rows, [0.0, 0.5, 3.0, 3.5]);
    }

    #[test]
    fn a_cache_over_its_memory_bound_is_not_made() {
        assert!(FeatureCache::new(1000, 512, 1000 * 512 * 4).is_some());
        assert!(FeatureCache::new(1001, 512, 1000 * 512 * 4).is_none());
    }
}
