//! Image data: folder scanning, stratified split + manifest, decoding, transforms (torchvision
//! parity) and a threaded, prefetching loader. Burn-free: the trainer turns batches into tensors.
//!
//! Typical flow:
//! `scan_dataset(root)` -> `Split::from_scan(scan, ratios, seed)` -> `split.write_manifest(..)`
//! -> `verify_samples(..)` (report unreadable files) -> `Loader::new(samples, Transform::new(..), ..)`.

mod augment;
mod balance;
mod decode;
mod error;
mod loader;
mod multi_label;
mod resize;
mod rng;
mod scan;
mod split;
mod transform;

pub use augment::{
    adjust_brightness, adjust_contrast, adjust_saturation, color_jitter, hflip, random_resized_crop_rect, rotate,
};
pub use balance::{ClassCounts, class_warnings};
pub use decode::{DecodeReport, Skipped, load_rgb, to_rgb8, verify_samples};
pub use error::DataError;
pub use loader::{Batch, EpochIter, Loader, LoaderConfig};
pub use multi_label::MultiLabels;
pub use resize::{Rect, center_offset, resize, resize_window, shorter_side_size};
pub use rng::seeded_rng;
pub use scan::{
    ClassFolders, IMAGE_EXTENSIONS, Layout, Sample, Scan, class_folder_images, ignored_warning, images_under,
    is_image_path, scan_class_folders, scan_dataset,
};
pub use split::{Part, Split, SplitRatios, split_counts, stratified_split};
pub use transform::{
    AugmentConfig, IMAGENET_MEAN, IMAGENET_STD, Mode, Transform, TransformConfig, eval_crop, eval_tensor_data,
    eval_tensor_rgb, write_normalized,
};
