use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::tensor::DType;
use burn_store::pytorch::PytorchReader;
use safetensors::{Dtype, SafeTensors};

use super::error::WeightError;

/// How a weight file is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `torch.save` output: a zip (or legacy) pickle, parsed without running it.
    Pytorch,
    Safetensors,
}

impl FileFormat {
    fn label(self) -> &'static str {
        match self {
            FileFormat::Pytorch => "PyTorch (.pth)",
            FileFormat::Safetensors => "safetensors",
        }
    }
}

/// One tensor as the file holds it, widened to f32 (integer tensors keep only their shape).
#[derive(Debug, Clone)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub values: Option<Vec<f32>>,
}

/// A state dict read from disk, keyed by torchvision tensor name.
#[derive(Debug)]
pub struct WeightFile {
    pub path: PathBuf,
    pub format: FileFormat,
    tensors: BTreeMap<String, StoredTensor>,
}

impl WeightFile {
    /// Reads a `.pth`/`.pt` or `.safetensors` file, telling them apart by their first bytes.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WeightError> {
        let path = path.as_ref().to_path_buf();
        let format = sniff(&path)?;
        let tensors = match format {
            FileFormat::Pytorch => read_pytorch(&path),
            FileFormat::Safetensors => read_safetensors(&path),
        }
        .map_err(|reason| WeightError::Unreadable {
            path: path.clone(),
            format: format.label(),
            reason,
        })?;
        let tensors = strip_wrapper_prefix(tensors).ok_or_else(|| WeightError::NotAResNet { path: path.clone() })?;
        Ok(Self { path, format, tensors })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&StoredTensor> {
        self.tensors.get(name)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}

fn sniff(path: &Path) -> Result<FileFormat, WeightError> {
    let io = |source| WeightError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut head = [0u8; 9];
    let mut file = std::fs::File::open(path).map_err(io)?;
    let n = file.read(&mut head).map_err(io)?;
    let head = &head[..n];
    // safetensors: a little-endian u64 header length, then the JSON header. Checked first,
    // since that length's first byte can equal pickle's 0x80 protocol marker.
    if head.len() == 9 && head[8] == b'{' {
        return Ok(FileFormat::Safetensors);
    }
    if head.starts_with(b"PK\x03\x04") || head.first() == Some(&0x80) {
        return Ok(FileFormat::Pytorch);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    Ok(match ext {
        "safetensors" => FileFormat::Safetensors,
        _ => FileFormat::Pytorch,
    })
}

fn read_pytorch(path: &Path) -> Result<BTreeMap<String, StoredTensor>, String> {
    // PytorchReader parses the pickle opcodes itself; nothing in the file is executed.
    let reader = PytorchReader::new(path).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (name, snapshot) in reader.into_tensors() {
        let dtype = format!("{:?}", snapshot.dtype).to_lowercase();
        let is_float = matches!(snapshot.dtype, DType::F32 | DType::F16 | DType::BF16 | DType::F64);
        let values = if is_float {
            let data = snapshot.to_data().map_err(|e| format!("tensor '{name}': {e:?}"))?;
            let values = data
                .convert::<f32>()
                .into_vec::<f32>()
                .map_err(|e| format!("tensor '{name}': {e:?}"))?;
            Some(values)
        } else {
            None
        };
        let shape = snapshot.shape.to_vec();
        out.insert(name, StoredTensor { shape, dtype, values });
    }
    Ok(out)
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, StoredTensor>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let raw = view.data();
        let values = match view.dtype() {
            Dtype::F32 => Some(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F16 => Some(
                raw.chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            ),
            Dtype::BF16 => Some(
                raw.chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
            ),
            Dtype::F64 => Some(
                raw.chunks_exact(8)
                    .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                    .collect(),
            ),
            _ => None,
        };
        let dtype = format!("{:?}", view.dtype()).to_lowercase();
        out.insert(
            name,
            StoredTensor {
                shape: view.shape().to_vec(),
                dtype,
                values,
            },
        );
    }
    Ok(out)
}

/// Checkpoints often nest the state dict (`state_dict.`, `model.`) or carry DataParallel's
/// `module.`; find the prefix in front of `conv1.weight` and drop it from every name.
fn strip_wrapper_prefix(tensors: BTreeMap<String, StoredTensor>) -> Option<BTreeMap<String, StoredTensor>> {
    let prefix = tensors
        .keys()
        .filter_map(|k| k.strip_suffix("conv1.weight"))
        .filter(|p| p.is_empty() || p.ends_with('.'))
        .filter(|p| !p.contains("layer"))
        .min_by_key(|p| p.len())?
        .to_string();
    if prefix.is_empty() {
        return Some(tensors);
    }
    Some(
        tensors
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix.as_str()).map(|s| (s.to_string(), v)))
            .collect(),
    )
}
