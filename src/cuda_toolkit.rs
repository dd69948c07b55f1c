//! Where the CUDA headers are. Burn's CUDA backend (cubecl) compiles its kernels at run time
//! with NVRTC, passing it `$CUDA_PATH/include`; without `CUDA_PATH` it tries only
//! /usr/local/cuda, /opt/cuda and /usr (for /usr/bin/nvcc), and where none exists it panics on
//! its device thread at the first kernel, deep inside the first step. A machine with the
//! toolkit under /usr/local/cuda-13.0 and no symlink is such a machine. kiln therefore finds
//! the headers itself, points cubecl at them, and otherwise says what is missing before
//! training starts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The header every kernel cubecl writes includes.
pub const HEADER: &str = "include/cuda_runtime.h";

/// Where the headers are, as far as cubecl is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolkit {
    /// Where cubecl looks by itself (`CUDA_PATH`, or its first default that exists).
    Found(PathBuf),
    /// A toolkit cubecl would not find: kiln sets `CUDA_PATH` to it.
    Elsewhere(PathBuf),
    /// No headers: why, in words for the user.
    Missing(String),
}

/// Locates the toolkit under `root` (`/` on a real machine; a test's own folder in tests),
/// given the value of `CUDA_PATH`.
pub fn locate(root: &Path, cuda_path: Option<OsString>) -> Toolkit {
    // The directory cubecl will use: found when it has the headers, else `missing` says why.
    let used = |dir: PathBuf, missing: &dyn Fn(&Path) -> String| {
        if root.join(strip_root(&dir)).join(HEADER).is_file() {
            Toolkit::Found(dir)
        } else {
            Toolkit::Missing(missing(&dir))
        }
    };
    if let Some(path) = cuda_path.filter(|p| !p.is_empty()).map(PathBuf::from) {
        return used(path, &|dir| {
            format!(
                "CUDA_PATH is {}, which has no {HEADER}; point it at the CUDA toolkit",
                dir.display()
            )
        });
    }
    // cubecl's own defaults, in its order: the first that exists is the one it uses.
    let defaults = [
        ("/usr/local/cuda", "/usr/local/cuda"),
        ("/opt/cuda", "/opt/cuda"),
        ("/usr/bin/nvcc", "/usr"),
    ];
    if let Some((_, dir)) = defaults
        .iter()
        .find(|(probe, _)| root.join(strip_root(Path::new(probe))).exists())
    {
        return used(PathBuf::from(dir), &|dir| {
            format!(
                "{} has no {HEADER}; install the CUDA toolkit's headers there, or set CUDA_PATH to a toolkit that has them",
                dir.display()
            )
        });
    }
    match newest_versioned(root) {
        Some(dir) => Toolkit::Elsewhere(dir),
        None => Toolkit::Missing(format!(
            "no CUDA toolkit found (CUDA_PATH is unset; no {HEADER} under /usr/local/cuda, /opt/cuda or \
             /usr/local/cuda-*); Burn's CUDA backend compiles its kernels at run time and needs them: install \
             the CUDA toolkit and set CUDA_PATH to it"
        )),
    }
}

/// The newest /usr/local/cuda-X.Y with headers.
fn newest_versioned(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root.join("usr/local")).ok()?;
    let mut versions: Vec<(Vec<u32>, String)> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let version = name.strip_prefix("cuda-")?;
            let parts: Option<Vec<u32>> = version.split('.').map(|p| p.parse().ok()).collect();
            Some((parts?, name))
        })
        .filter(|(_, name)| root.join("usr/local").join(name).join(HEADER).is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, name)| Path::new("/usr/local").join(name))
}

fn strip_root(path: &Path) -> &Path {
    path.strip_prefix("/").unwrap_or(path)
}

/// Run first thing in `main`, while the process has one thread: when the toolkit is where
/// cubecl would not look, sets `CUDA_PATH` so that it does.
pub fn export_for_cubecl() {
    if let Toolkit::Elsewhere(dir) = locate(Path::new("/"), std::env::var_os("CUDA_PATH")) {
        // SAFETY: called at the top of `main`, before any other thread exists to read the
        // environment concurrently.
        unsafe { std::env::set_var("CUDA_PATH", &dir) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolkit(root: &Path, dir: &str) {
        let include = root.join(dir).join("include");
        std::fs::create_dir_all(&include).unwrap();
        std::fs::write(include.join("cuda_runtime.h"), "").unwrap();
    }

    #[test]
    fn a_versioned_toolkit_without_the_symlink_is_found_and_the_newest_wins() {
        let root = tempfile::tempdir().unwrap();
        toolkit(root.path(), "usr/local/cuda-12.8");
        toolkit(root.path(), "usr/local/cuda-13.0");
        toolkit(root.path(), "usr/local/cuda-9.2");
        assert_eq!(
            locate(root.path(), None),
            Toolkit::Elsewhere("/usr/local/cuda-13.0".into())
        );
    }

    #[test]
    fn cubecls_own_default_and_cuda_path_are_left_as_they_are() {
        let root = tempfile::tempdir().unwrap();
        toolkit(root.path(), "usr/local/cuda");
        toolkit(root.path(), "usr/local/cuda-13.0");
        assert_eq!(locate(root.path(), None), Toolkit::Found("/usr/local/cuda".into()));
        toolkit(root.path(), "opt/tk");
        assert_eq!(
            locate(root.path(), Some("/opt/tk".into())),
            Toolkit::Found("/opt/tk".into())
        );
    }

    #[test]
    fn missing_headers_say_where_kiln_looked_and_what_to_do() {
        let root = tempfile::tempdir().unwrap();
        let Toolkit::Missing(why) = locate(root.path(), None) else {
            panic!("an empty machine has no toolkit")
        };
        assert!(
            why.contains("/usr/local/cuda-*") && why.contains("set CUDA_PATH"),
            "{why}"
        );
        let Toolkit::Missing(why) = locate(root.path(), Some("/opt/nothing".into())) else {
            panic!("CUDA_PATH without headers")
        };
        assert!(
            why.contains("CUDA_PATH is /opt/nothing") && why.contains(HEADER),
            "{why}"
        );
        // cubecl's default exists (a driver-only /usr/local/cuda) but holds no headers.
        std::fs::create_dir_all(root.path().join("usr/local/cuda")).unwrap();
        toolkit(root.path(), "usr/local/cuda-13.0");
        let Toolkit::Missing(why) = locate(root.path(), None) else {
            panic!("cubecl would use /usr/local/cuda and find no headers")
        };
        assert!(why.starts_with("/usr/local/cuda has no"), "{why}");
    }
}
