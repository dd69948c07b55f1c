use std::collections::HashSet;

use burn::module::{Param, RunningState};
use burn::prelude::*;

use super::error::{Mismatch, Unexpected, WeightError};
use super::file::WeightFile;
use super::guess::guess_arch;
use crate::model::{ResNet, TensorVisitor};

/// What loading did besides copying tensors, for the user to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Tensors copied from the file into the model.
    pub loaded: usize,
    /// Set when the file's classifier did not fit, so `fc` was freshly initialised; says why.
    pub head_reset: Option<String>,
}

/// Copies every tensor of `file` into `model` by torchvision name.
///
/// A classifier (`fc`) with another class count, or none at all, is left freshly
/// initialised and reported. Anything else that does not fit is an error: a missing
/// tensor, a wrong shape, a tensor the model does not have.
pub fn load_weights<B: Backend>(model: ResNet<B>, file: &WeightFile) -> Result<(ResNet<B>, LoadReport), WeightError> {
    let mut model = model;
    let head_reset = head_mismatch(&model, file);
    let device = model.fc.weight.device();
    let mut loader = Loader {
        file,
        device,
        arch: model.arch.to_string(),
        skip_head: head_reset.is_some(),
        used: HashSet::new(),
        error: None,
        loaded: 0,
    };
    model.walk_tensors(&mut loader);
    if let Some(err) = loader.error {
        return Err(err);
    }
    let unexpected: Vec<&str> = file
        .names()
        .filter(|n| !loader.used.contains(*n))
        .filter(|n| !n.ends_with("num_batches_tracked"))
        .filter(|n| !(loader.skip_head && n.starts_with("fc.")))
        .collect();
    if !unexpected.is_empty() {
        return Err(WeightError::Unexpected(Box::new(Unexpected {
            path: file.path.clone(),
            count: unexpected.len(),
            examples: unexpected
                .iter()
                .take(3)
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", "),
            arch: loader.arch.clone(),
            hint: arch_hint(file, &loader.arch),
        })));
    }
    let report = LoadReport {
        loaded: loader.loaded,
        head_reset,
    };
    Ok((model, report))
}

/// Why the file's classifier cannot be used for this model, if it cannot.
fn head_mismatch<B: Backend>(model: &ResNet<B>, file: &WeightFile) -> Option<String> {
    let wanted = [model.num_classes(), model.arch.feature_dim()];
    match file.get("fc.weight") {
        None => Some("the file has no classifier".into()),
        // A head with the right input width but another class count is the usual fine-tuning
        // case; a different input width means another architecture and is left to the shape check.
        Some(t) if t.shape.len() == 2 && t.shape[1] == wanted[1] && t.shape[0] != wanted[0] => Some(format!(
            "the file's classifier has {} classes and the model {}",
            t.shape[0], wanted[0]
        )),
        Some(_) => None,
    }
}

/// "this file looks like resnet50" when the names say so and it is not the model's arch.
fn arch_hint(file: &WeightFile, arch: &str) -> String {
    match guess_arch(file.names()) {
        Some(guess) if guess.name() != arch => {
            format!("; this file looks like a {guess} checkpoint: use model.arch = \"{guess}\" (or --model {guess})")
        }
        _ => String::new(),
    }
}

struct Loader<'a, B: Backend> {
    file: &'a WeightFile,
    device: B::Device,
    arch: String,
    skip_head: bool,
    used: HashSet<String>,
    error: Option<WeightError>,
    loaded: usize,
}

impl<B: Backend> Loader<'_, B> {
    /// Fetches `name` with PyTorch shape `expected`, recording the first problem met.
    fn fetch<const D: usize>(&mut self, name: &str, expected: [usize; D]) -> Option<Tensor<B, D>> {
        if self.error.is_some() || (self.skip_head && name.starts_with("fc.")) {
            return None;
        }
        let path = self.file.path.clone();
        let Some(stored) = self.file.get(name) else {
            self.error = Some(WeightError::Missing(Box::new(Mismatch {
                path,
                tensor: name.to_string(),
                expected: expected.to_vec(),
                found: Vec::new(),
                arch: self.arch.clone(),
                hint: arch_hint(self.file, &self.arch),
            })));
            return None;
        };
        if stored.shape != expected {
            self.error = Some(WeightError::Shape(Box::new(Mismatch {
                path,
                tensor: name.to_string(),
                expected: expected.to_vec(),
                found: stored.shape.clone(),
                arch: self.arch.clone(),
                hint: arch_hint(self.file, &self.arch),
            })));
            return None;
        }
        let Some(values) = stored.values.clone() else {
            self.error = Some(WeightError::Dtype {
                path,
                tensor: name.to_string(),
                dtype: stored.dtype.clone(),
            });
            return None;
        };
        self.used.insert(name.to_string());
        self.loaded += 1;
        Some(Tensor::from_data(TensorData::new(values, expected), &self.device))
    }
}

impl<B: Backend> TensorVisitor<B> for Loader<'_, B> {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, transposed: bool) {
        let mut shape = param.shape().dims::<D>();
        if transposed {
            shape.reverse();
        }
        if let Some(tensor) = self.fetch(name, shape) {
            let tensor = if transposed { tensor.transpose() } else { tensor };
            *param = Param::initialized(param.id, tensor);
        }
    }

    fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<B, 1>>) {
        let shape = state.value().dims();
        if let Some(tensor) = self.fetch(name, shape) {
            *state = RunningState::new(tensor);
        }
    }
}
