//! What a batch is trained towards, built from the loader's sample indices: class indices, or
//! multi-hot rows from the label CSV.

use burn::prelude::*;

use crate::data::{MultiLabels, Sample};

/// What a batch is trained towards.
#[derive(Debug, Clone)]
pub enum Targets<B: Backend> {
    /// One class index per image, `[batch]`.
    Classes(Tensor<B, 1, Int>),
    /// Multi-hot rows `[batch, labels]` (multi-label data).
    MultiHot(Tensor<B, 2>),
}

impl<B: Backend> Targets<B> {
    /// Images predicted right: the top class is the label, or (multi-label) every label's
    /// logit is on the right side of 0 (sigmoid 0.5).
    pub fn correct(&self, logits: Tensor<B, 2>) -> usize {
        let [n, labels] = logits.dims();
        let hits = match self {
            Targets::Classes(t) => logits.argmax(1).reshape([n]).equal(t.clone()).int().sum(),
            Targets::MultiHot(t) => {
                let predicted = logits.greater_elem(0.0).int();
                let truth = t.clone().greater_elem(0.5).int();
                let right = predicted.equal(truth).int().sum_dim(1).reshape([n]);
                right.equal_elem(labels as i64).int().sum()
            }
        };
        hits.into_scalar().elem::<i64>() as usize
    }

    /// The targets of `samples[indices]`: multi-hot rows when `multi` is given, else classes.
    pub fn of_samples(samples: &[Sample], indices: &[usize], multi: Option<&MultiLabels>, device: &B::Device) -> Self {
        let n = indices.len();
        match multi {
            Some(m) => {
                let rows = m.multi_hot(indices.iter().map(|&i| samples[i].path.as_path()));
                Targets::MultiHot(Tensor::from_data(TensorData::new(rows, [n, m.classes.len()]), device))
            }
            None => {
                let classes: Vec<i64> = indices.iter().map(|&i| samples[i].label as i64).collect();
                Targets::Classes(Tensor::from_data(TensorData::new(classes, [n]), device))
            }
        }
    }
}
