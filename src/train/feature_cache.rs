//! What a frozen prefix makes of each training image, computed once.
//!
//! While the stem and the blocks after it are frozen and the training images are not
//! augmented, every epoch feeds the trainable rest the same prefix output: the first epoch
//! computes it (folded, without autodiff) and keeps it; later epochs read it back and never
//! touch the images or the prefix. With the whole backbone frozen the rows are the pooled
//! features the head takes; otherwise the activations the next block takes. Anything that
//! changes the prefix's output (an unfreeze inside it, augmentation) means another cache or none.

use burn::tensor::TensorData;

/// Rows of one shape by sample index, up to a memory bound.
pub struct FeatureCache {
    /// One sample's row: `[features]` or `[channels, height, width]`.
    shape: Vec<usize>,
    dim: usize,
    /// The folded prefix the rows came from, in blocks after the stem.
    source: usize,
    rows: Vec<Option<Box<[f32]>>>,
    filled: usize,
    /// Every image of an epoch went in: later epochs can run from the cache alone.
    complete: bool,
}

impl FeatureCache {
    /// A cache for `samples` rows of `shape`, made by a prefix of `source` blocks, or `None`
    /// when it would need more than `limit_bytes`.
    pub fn new(samples: usize, shape: &[usize], source: usize, limit_bytes: usize) -> Option<Self> {
        let dim: usize = shape.iter().product();
        let bytes = samples.checked_mul(dim)?.checked_mul(std::mem::size_of::<f32>())?;
        (bytes <= limit_bytes).then(|| Self {
            shape: shape.to_vec(),
            dim,
            source,
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

    /// The prefix (blocks after the stem) whose output this holds.
    pub fn source(&self) -> usize {
        self.source
    }

    /// True when the rows are pooled features, false when they are activations.
    pub fn is_pooled(&self) -> bool {
        self.shape.len() == 1
    }

    /// A batch from the cache: the samples found (as [`get`](Self::get) finds them) and their
    /// rows `[found, ..shape]`; `None` when none was found.
    pub fn batch(&self, indices: &[usize]) -> Option<(Vec<usize>, TensorData)> {
        let (found, rows) = self.get(indices);
        if found.is_empty() {
            return None;
        }
        let shape: Vec<usize> = std::iter::once(found.len()).chain(self.shape.iter().copied()).collect();
        Some((found, TensorData::new(rows, shape)))
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
        let mut cache = FeatureCache::new(5, &[2], 8, 1 << 20).unwrap();
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
        assert!(FeatureCache::new(1000, &[512], 8, 1000 * 512 * 4).is_some());
        assert!(FeatureCache::new(1001, &[512], 8, 1000 * 512 * 4).is_none());
        assert!(FeatureCache::new(1000, &[2, 16, 16], 1, 1000 * 512 * 4).is_some());
        assert!(FeatureCache::new(1000, &[3, 16, 16], 1, 1000 * 512 * 4).is_none());
    }
}
