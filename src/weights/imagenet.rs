//! torchvision's ImageNet-1k weights: where they live online, where kiln caches them,
//! and a download that checks what it got before keeping it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::WeightError;
use crate::model::Arch;

/// torchvision's file name for each model's IMAGENET1K_V1 weights. The 8 hex digits are
/// the start of the file's SHA-256, the check torch.hub itself makes.
pub fn file_name(arch: Arch) -> &'static str {
    match arch {
        Arch::ResNet18 => "resnet18-f37072fd.pth",
        Arch::ResNet34 => "resnet34-b627a593.pth",
        Arch::ResNet50 => "resnet50-0676ba61.pth",
        Arch::ResNet101 => "resnet101-63fe2227.pth",
        Arch::ResNet152 => "resnet152-394f9c45.pth",
    }
}

const DEFAULT_BASE_URL: &str = "https://download.pytorch.org/models";

/// Where the weights are downloaded from; `KILN_WEIGHTS_URL` points kiln at a mirror.
pub fn url(arch: Arch) -> String {
    let base = std::env::var("KILN_WEIGHTS_URL").unwrap_or_else(|_| DEFAULT_BASE_URL.to_string());
    format!("{}/{}", base.trim_end_matches('/'), file_name(arch))
}

/// The checksum prefix that torchvision encodes in the file name.
pub fn expected_sha256_prefix(arch: Arch) -> &'static str {
    let name = file_name(arch);
    let stem = name.trim_end_matches(".pth");
    &stem[stem.len() - 8..]
}

/// kiln's weight cache: `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KILN_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("kiln")
}

/// Where kiln keeps (or expects) the ImageNet file for `arch`.
pub fn cached_path(arch: Arch) -> PathBuf {
    cache_dir().join("weights").join(file_name(arch))
}

/// A copy PyTorch already downloaded (`$TORCH_HOME/hub/checkpoints`), reused rather than fetched twice.
fn torch_hub_copy(arch: Arch) -> Option<PathBuf> {
    let torch_home = std::env::var_os("TORCH_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/torch")))?;
    let path = torch_home.join("hub/checkpoints").join(file_name(arch));
    path.is_file().then_some(path)
}

/// The ImageNet weight file for `arch`, downloading it into the cache the first time.
pub fn fetch(arch: Arch) -> Result<PathBuf, WeightError> {
    let path = cached_path(arch);
    if path.is_file() {
        return Ok(path);
    }
    if let Some(existing) = torch_hub_copy(arch) {
        return Ok(existing);
    }
    let url = url(arch);
    eprintln!("downloading {arch} ImageNet weights from {url}");
    download_verified(&url, &path, expected_sha256_prefix(arch)).map_err(|e| match e {
        DownloadError::Checksum { expected, actual } => WeightError::Checksum {
            url: url.clone(),
            path: path.clone(),
            expected,
            actual,
        },
        DownloadError::Failed(reason) => WeightError::Download {
            arch: arch.to_string(),
            url: url.clone(),
            path: path.clone(),
            reason,
        },
    })?;
    Ok(path)
}

/// Why a download did not produce a file.
#[derive(Debug, PartialEq, Eq)]
pub enum DownloadError {
    Failed(String),
    Checksum { expected: String, actual: String },
}

/// Downloads `url` to `dest` with a progress bar, keeping it only if its SHA-256 starts
/// with `sha256_prefix`. The file appears at `dest` whole or not at all.
pub fn download_verified(url: &str, dest: &Path, sha256_prefix: &str) -> Result<(), DownloadError> {
    let failed = |e: &dyn std::fmt::Display| DownloadError::Failed(e.to_string());
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(&format!("cannot create {}: {e}", dir.display())))?;
    }
    let response = ureq::get(url).call().map_err(|e| failed(&e))?;
    let total = response.header("Content-Length").and_then(|v| v.parse::<u64>().ok());
    let bar = progress_bar(total);
    let tmp = dest.with_extension("part");
    let mut out = std::fs::File::create(&tmp).map_err(|e| failed(&format!("cannot write {}: {e}", tmp.display())))?;
    let mut reader = response.into_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(failed(&format!("connection broke: {e}")));
            }
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| failed(&format!("cannot write {}: {e}", tmp.display())))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    drop(out);
    let actual = format!("{:x}", hasher.finalize());
    if !actual.starts_with(&sha256_prefix.to_ascii_lowercase()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(DownloadError::Checksum {
            expected: sha256_prefix.to_string(),
            actual: actual[..sha256_prefix.len().min(actual.len())].to_string(),
        });
    }
    std::fs::rename(&tmp, dest).map_err(|e| failed(&format!("cannot move into {}: {e}", dest.display())))
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    // indicatif draws nothing when stderr is not a terminal, so logs stay clean.
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
