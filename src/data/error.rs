//! Errors of the data side. Each one names the file or folder at fault and says what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("data folder {}{} does not exist or is not a folder; pass the folder that holds one sub-folder per class", .0.display(), crate::relative::from_cwd(.0))]
    MissingRoot(PathBuf),

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("no images found under {}; expected one sub-folder per class holding .{} files", .0.display(), super::scan::IMAGE_EXTENSIONS.join("/."))]
    NoImages(PathBuf),

    #[error("class folder {0} holds no images; add images to it or remove the folder")]
    EmptyClass(PathBuf),

    #[error("only one class ({class}) found under {root}; a classifier needs at least two class folders")]
    SingleClass { root: PathBuf, class: String },

    #[error(
        "{root} has a train/ folder but no val/ folder; add val/ (and optionally test/) with the same class folders, or move the class folders up one level to let kiln split them"
    )]
    MissingVal { root: PathBuf },

    #[error(
        "class folders differ between {first} and {second}: only in the first: [{only_first}], only in the second: [{only_second}]; every split needs the same class folders"
    )]
    ClassMismatch {
        first: PathBuf,
        second: PathBuf,
        only_first: String,
        only_second: String,
    },

    #[error(
        "split ratios {0:?} are invalid; give three non-negative numbers (train, val, test) with a positive train share, e.g. 7:1:2"
    )]
    BadRatios([f64; 3]),

    #[error("split manifest {path}{}: {reason}", at_line(*.line))]
    Manifest { path: PathBuf, line: u64, reason: String },

    #[error("label CSV {}{} does not exist; data.multi_label_csv names it", .0.display(), crate::relative::from_cwd(.0))]
    MissingLabelCsv(PathBuf),

    #[error("label CSV {path}{}: {reason}; it needs a `path,labels` header, image paths relative to data.root and labels separated by `;`", at_line(*.line))]
    LabelCsv { path: PathBuf, line: u64, reason: String },

    #[error("cannot write split manifest {path}: {reason}; check that the run folder is writable")]
    ManifestWrite { path: PathBuf, reason: String },

    #[error("invalid data settings: {0}")]
    BadConfig(String),

    #[error("cannot decode image {path}: {reason}")]
    Decode { path: PathBuf, reason: String },
}

/// ", line N" for a manifest error, nothing when the error is not about one line (line 0).
fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(", line {line}")
    }
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}
