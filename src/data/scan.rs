//! Finding the images: a root with one sub-folder per class, or a root with `train/`, `val/` and
//! optionally `test/`, each holding the same class folders. Class names are folder names, sorted.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::DataError;

/// File extensions taken as images (compared case-insensitively). Anything else is ignored.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "webp", "tif", "tiff", "gif"];

/// Symlinked folders could loop; real data sets are never this deep.
const MAX_DEPTH: usize = 16;

/// One image file and the index of its class in the sorted class list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sample {
    pub path: PathBuf,
    pub label: usize,
}

/// What was found under the root.
#[derive(Clone, Debug)]
pub enum Layout {
    /// One folder of class folders: kiln splits it (see `split`).
    Unsplit(Vec<Sample>),
    /// `train/`, `val/` and optionally `test/` (empty when absent), used as given.
    PreSplit {
        train: Vec<Sample>,
        val: Vec<Sample>,
        test: Vec<Sample>,
    },
}

#[derive(Clone, Debug)]
pub struct Scan {
    pub root: PathBuf,
    /// Sorted class names; a sample's `label` indexes this list.
    pub classes: Vec<String>,
    pub layout: Layout,
    /// Files inside the class folders left out because their extension is not an image
    /// extension (files beside the class folders, a README or a labels file, are not listed).
    pub ignored: Vec<PathBuf>,
}

/// Files in the class folders that the scan left out, said once (a .heic or .dcm folder of
/// real images would otherwise vanish without a word): how many, the first few by path under
/// `root`, and what kiln reads.
pub fn ignored_warning(root: &Path, ignored: &[PathBuf]) -> Option<String> {
    const NAMED: usize = 3;
    if ignored.is_empty() {
        return None;
    }
    let names: Vec<String> = ignored
        .iter()
        .take(NAMED)
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    let more = match ignored.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let (count, was) = match ignored.len() {
        1 => ("1 file in the class folders is not an image".to_string(), "was"),
        n => (format!("{n} files in the class folders are not images"), "were"),
    };
    Some(format!(
        "{count} kiln reads ({}) and {was} left out: {}{more}",
        IMAGE_EXTENSIONS.join(", "),
        names.join(", ")
    ))
}

/// True for file names ending in one of `IMAGE_EXTENSIONS`, any case.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Every image file under `dir` (at any depth, sorted, hidden entries skipped) and the other
/// files found beside them.
pub fn images_under(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), DataError> {
    let (mut images, mut others) = (Vec::new(), Vec::new());
    collect_images(dir, 0, &mut images, &mut others)?;
    Ok((images, others))
}

/// Scans `root`. Pre-split when it holds both `train/` and `val/` folders.
pub fn scan_dataset(root: &Path) -> Result<Scan, DataError> {
    if !root.is_dir() {
        return Err(DataError::MissingRoot(root.to_path_buf()));
    }
    let train_dir = root.join("train");
    let val_dir = root.join("val");
    let test_dir = root.join("test");
    if !train_dir.is_dir() {
        let found = scan_class_folders(root)?;
        return Ok(Scan {
            root: root.to_path_buf(),
            classes: found.classes,
            layout: Layout::Unsplit(found.samples),
            ignored: found.ignored,
        });
    }
    if !val_dir.is_dir() {
        return Err(DataError::MissingVal {
            root: root.to_path_buf(),
        });
    }
    let train = scan_class_folders(&train_dir)?;
    let val = scan_class_folders(&val_dir)?;
    same_classes(&train_dir, &train.classes, &val_dir, &val.classes)?;
    let mut ignored = [train.ignored, val.ignored].concat();
    let test = if test_dir.is_dir() {
        let test = scan_class_folders(&test_dir)?;
        same_classes(&train_dir, &train.classes, &test_dir, &test.classes)?;
        ignored.extend(test.ignored);
        test.samples
    } else {
        Vec::new()
    };
    Ok(Scan {
        root: root.to_path_buf(),
        classes: train.classes,
        layout: Layout::PreSplit {
            train: train.samples,
            val: val.samples,
            test,
        },
        ignored,
    })
}

/// Classes and samples of one folder of class folders.
#[derive(Clone, Debug)]
pub struct ClassFolders {
    pub classes: Vec<String>,
    pub samples: Vec<Sample>,
    /// Non-image files inside the class folders.
    pub ignored: Vec<PathBuf>,
}

/// Scans a folder whose sub-folders are classes. Images may sit deeper inside a class folder.
/// Hidden entries (leading `.`) are skipped; files directly in `dir` are ignored.
pub fn scan_class_folders(dir: &Path) -> Result<ClassFolders, DataError> {
    let (folders, ignored) = class_folder_images(dir)?;
    let empty = folders
        .iter()
        .find(|(_, files)| files.is_empty())
        .map(|(name, _)| dir.join(name));
    let mut classes = Vec::with_capacity(folders.len());
    let mut samples = Vec::new();
    for (label, (name, files)) in folders.into_iter().enumerate() {
        samples.extend(files.into_iter().map(|path| Sample { path, label }));
        classes.push(name);
    }
    // "No images at all" is reported before "this class is empty": it is the likelier mistake
    // (wrong folder) and the more useful message.
    if samples.is_empty() {
        return Err(DataError::NoImages(dir.to_path_buf()));
    }
    if let Some(path) = empty {
        return Err(DataError::EmptyClass(path));
    }
    if classes.len() == 1 {
        return Err(DataError::SingleClass {
            root: dir.to_path_buf(),
            class: classes.remove(0),
        });
    }
    Ok(ClassFolders {
        classes,
        samples,
        ignored,
    })
}

/// A class folder's name and the images inside it.
pub type NamedImages = (String, Vec<PathBuf>);

/// The class folders of `dir` as they are, before training's checks (at least two classes,
/// none empty): each sub-folder's name and the images inside it, sorted by name, and the
/// non-image files found in them. An evaluation takes a folder of one class, or with empty ones.
pub fn class_folder_images(dir: &Path) -> Result<(Vec<NamedImages>, Vec<PathBuf>), DataError> {
    if !dir.is_dir() {
        return Err(DataError::MissingRoot(dir.to_path_buf()));
    }
    let mut folders = Vec::new();
    let mut ignored = Vec::new();
    for (name, path) in sorted_entries(dir)? {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_images(&path, 0, &mut files, &mut ignored)?;
            folders.push((name, files));
        }
    }
    Ok((folders, ignored))
}

/// Non-hidden entries of `dir` with UTF-8 names, sorted by name so scans are reproducible.
fn sorted_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, DataError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn collect_images(
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
) -> Result<(), DataError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for (_, path) in sorted_entries(dir)? {
        if path.is_dir() {
            collect_images(&path, depth + 1, out, ignored)?;
        } else if is_image_path(&path) {
            out.push(path);
        } else {
            ignored.push(path);
        }
    }
    Ok(())
}

fn same_classes(first: &Path, a: &[String], second: &Path, b: &[String]) -> Result<(), DataError> {
    if a == b {
        return Ok(());
    }
    let sa: BTreeSet<&String> = a.iter().collect();
    let sb: BTreeSet<&String> = b.iter().collect();
    let join = |v: Vec<&&String>| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    Err(DataError::ClassMismatch {
        first: first.to_path_buf(),
        second: second.to_path_buf(),
        only_first: join(sa.difference(&sb).collect()),
        only_second: join(sb.difference(&sa).collect()),
    })
}
