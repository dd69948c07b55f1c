use std::collections::BTreeMap;
use std::path::Path;

use burn::module::{Param, RunningState};
use burn::prelude::*;
use safetensors::Dtype;
use safetensors::tensor::TensorView;

use super::error::WeightError;
use crate::model::{ResNet, TensorVisitor};

/// Precision of an exported weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveDtype {
    F32,
    F16,
    BF16,
}

impl std::str::FromStr for SaveDtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(SaveDtype::F32),
            "f16" | "float16" | "half" => Ok(SaveDtype::F16),
            "bf16" | "bfloat16" => Ok(SaveDtype::BF16),
            other => Err(format!("unknown dtype '{other}': use f32, f16 or bf16")),
        }
    }
}

/// Writes the model as a torchvision state dict in safetensors, so that
/// `torchvision.models.resnetN(num_classes=K).load_state_dict(safetensors.torch.load_file(path))`
/// accepts it (BatchNorm's `num_batches_tracked` included, as PyTorch's strict loading wants).
pub fn save_safetensors<B: Backend>(model: &ResNet<B>, path: &Path, dtype: SaveDtype) -> Result<(), WeightError> {
    save_safetensors_where(model, path, dtype, |_| true)
}

/// Like [`save_safetensors`], keeping only the tensors whose names `keep` accepts (e.g. a
/// backbone without its classifier, so whoever loads it gets a fresh head).
pub fn save_safetensors_where<B: Backend>(
    model: &ResNet<B>,
    path: &Path,
    dtype: SaveDtype,
    keep: impl Fn(&str) -> bool,
) -> Result<(), WeightError> {
    let mut collector = Collector::default();
    model.clone().walk_tensors(&mut collector);
    collector.tensors.retain(|name, _| keep(name));
    collector.counters.retain(|name| keep(name));
    let encoded: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> = collector
        .tensors
        .into_iter()
        .map(|(name, (shape, values))| {
            let (dt, bytes) = encode(&values, dtype);
            (name, (dt, shape, bytes))
        })
        .chain(collector.counters.into_iter().map(|name| {
            // PyTorch's BatchNorm counter; kiln does not track it, and zero is what a fresh module has.
            (name, (Dtype::I64, vec![], 0i64.to_le_bytes().to_vec()))
        }))
        .collect();
    let views = encoded
        .iter()
        .map(|(name, (dt, shape, bytes))| {
            TensorView::new(*dt, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| write_error(path, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tmp = path.with_extension("safetensors.tmp");
    safetensors::serialize_to_file(views, None, &tmp).map_err(|e| write_error(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| write_error(path, e))
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> WeightError {
    WeightError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn encode(values: &[f32], dtype: SaveDtype) -> (Dtype, Vec<u8>) {
    match dtype {
        SaveDtype::F32 => (Dtype::F32, values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        SaveDtype::F16 => (
            Dtype::F16,
            values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
        ),
        SaveDtype::BF16 => (
            Dtype::BF16,
            values
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect(),
        ),
    }
}

#[derive(Default)]
struct Collector {
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    counters: Vec<String>,
}

impl Collector {
    fn add<B: Backend, const D: usize>(&mut self, name: &str, tensor: Tensor<B, D>) {
        let shape = tensor.dims().to_vec();
        let values = tensor
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("data converted to f32 reads back as f32");
        self.tensors.insert(name.to_string(), (shape, values));
    }
}

impl<B: Backend> TensorVisitor<B> for Collector {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, transposed: bool) {
        let tensor = param.val();
        if transposed {
            self.add(name, tensor.transpose());
        } else {
            self.add(name, tensor);
        }
    }

    fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<B, 1>>) {
        // Synced: a model saved right after a training forward still has its update pending.
        self.add(name, state.value_sync());
        if let Some(prefix) = name.strip_suffix(".running_var") {
            self.counters.push(format!("{prefix}.num_batches_tracked"));
        }
    }
}
