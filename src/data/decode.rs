//! Decoding image files into 8-bit RGB, and the report of files that could not be decoded.

use std::path::{Path, PathBuf};
use std::thread;

use image::{DynamicImage, ImageReader, RgbImage};

use super::DataError;
use super::scan::Sample;

/// Opens and decodes one image file into 8-bit RGB. The format is guessed from the file's
/// bytes (not its extension), so a mislabelled JPEG still loads. Grayscale is replicated into
/// three channels, alpha is dropped (as PIL's `convert("RGB")` does), 16-bit channels are
/// scaled to 8-bit. EXIF orientation is not applied, matching torchvision's default loader.
pub fn load_rgb(path: &Path) -> Result<RgbImage, DataError> {
    let decode_err = |reason: String| DataError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    // A file that cannot be opened (gone, no permission) is not a decoding problem.
    let reader = ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| decode_err(e.to_string()))?;
    let img = reader.decode().map_err(|e| decode_err(e.to_string()))?;
    Ok(to_rgb8(img))
}

/// Converts any decoded image to 8-bit RGB (no copy when it already is).
pub fn to_rgb8(img: DynamicImage) -> RgbImage {
    match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    }
}

/// A file that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// Result of checking that every sample decodes.
#[derive(Clone, Debug, Default)]
pub struct DecodeReport {
    /// Samples that decoded, in their original order.
    pub ok: Vec<Sample>,
    /// Samples that did not, with the decoder's reason; the run log lists them.
    pub skipped: Vec<Skipped>,
}

/// Decodes every sample once on `threads` threads and separates the good from the unreadable.
/// Costs one full decode per image; worth it up front so a bad file is reported at the start of
/// a run instead of shrinking a batch in the middle of it.
pub fn verify_samples(samples: &[Sample], threads: usize) -> DecodeReport {
    let threads = threads.max(1).min(samples.len().max(1));
    let chunk = samples.len().div_ceil(threads).max(1);
    // One result per sample, in order: None = decoded, Some(reason) = skipped.
    let results: Vec<Option<String>> = thread::scope(|scope| {
        let handles: Vec<_> = samples
            .chunks(chunk)
            .map(|part| {
                let handle = scope.spawn(move || part.iter().map(|s| check_decodes(&s.path).err()).collect());
                (part.len(), handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                // Decoder panics are caught per file, so this only fails if the thread itself
                // died; then every file of its chunk counts as unreadable rather than vanishing.
                h.join()
                    .unwrap_or_else(|_| vec![Some("decoder thread failed".to_string()); len])
            })
            .collect()
    });
    let mut report = DecodeReport::default();
    for (s, result) in samples.iter().zip(results) {
        match result {
            None => report.ok.push(s.clone()),
            Some(reason) => report.skipped.push(Skipped {
                path: s.path.clone(),
                reason,
            }),
        }
    }
    report
}

/// Decodes `path`, turning a decoder panic (a bug in a codec, triggered by a hostile file) into
/// an error so one bad file can never take the run down.
pub(crate) fn load_rgb_guarded(path: &Path) -> Result<RgbImage, String> {
    match std::panic::catch_unwind(|| load_rgb(path)) {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(DataError::Decode { reason, .. })) => Err(reason),
        Ok(Err(DataError::Io { source, .. })) => Err(format!("cannot open it: {source}")),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the image decoder panicked on this file".into()),
    }
}

fn check_decodes(path: &Path) -> Result<(), String> {
    load_rgb_guarded(path).map(|_| ())
}
