use std::path::PathBuf;

/// Everything that can go wrong between a weight file and a model.
///
/// Each message names the file, the tensor and the shapes involved, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    #[error("cannot read weights file {}{}: {source}", .path.display(), crate::relative::from_cwd(.path))]
    Io { path: PathBuf, source: std::io::Error },

    #[error(
        "weights file {path} is not a readable {format} file ({reason}); it may be truncated or \
         corrupt: download or export it again"
    )]
    Unreadable {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },

    #[error(
        "weights file {path} holds no tensors of a torchvision ResNet (no 'conv1.weight' under any \
         prefix); kiln reads torchvision/timm state dicts saved with torch.save or safetensors"
    )]
    NotAResNet { path: PathBuf },

    #[error(
        "weights file {}: lacks tensor '{}' (shape {:?}) that {} needs{}",
        .0.path.display(), .0.tensor, .0.expected, .0.arch, .0.hint
    )]
    Missing(Box<Mismatch>),

    #[error(
        "weights file {}: tensor '{}' has shape {:?} but {} needs {:?}{}",
        .0.path.display(), .0.tensor, .0.found, .0.arch, .0.expected, .0.hint
    )]
    Shape(Box<Mismatch>),

    #[error("weights file {path}: tensor '{tensor}' is stored as {dtype}; kiln reads f32, f16, bf16 and f64 weights")]
    Dtype {
        path: PathBuf,
        tensor: String,
        dtype: String,
    },

    #[error(
        "weights file {} has {} tensor(s) that {} does not have, e.g. {}{}",
        .0.path.display(), .0.count, .0.arch, .0.examples, .0.hint
    )]
    Unexpected(Box<Unexpected>),

    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },

    #[error(
        "could not download the {arch} ImageNet weights from {url} ({reason}).\nWithout network \
         access, download that file elsewhere and put it at:\n  {path}"
    )]
    Download {
        arch: String,
        url: String,
        path: PathBuf,
        reason: String,
    },

    #[error(
        "the file downloaded from {url} does not match its checksum (sha256 starts with {actual}, \
         expected {expected}); it was not kept. Try again, or put a good copy at {path}"
    )]
    Checksum {
        url: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

/// A tensor the model needs that the file lacks or holds in another shape.
#[derive(Debug)]
pub struct Mismatch {
    pub path: PathBuf,
    pub tensor: String,
    pub expected: Vec<usize>,
    /// Empty when the tensor is missing.
    pub found: Vec<usize>,
    pub arch: String,
    /// Which architecture the file looks like, when that explains the mismatch.
    pub hint: String,
}

/// Tensors in the file that the model has no place for.
#[derive(Debug)]
pub struct Unexpected {
    pub path: PathBuf,
    pub count: usize,
    pub examples: String,
    pub arch: String,
    pub hint: String,
}
