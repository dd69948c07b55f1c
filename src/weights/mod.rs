//! Pretrained weights: reading torchvision `.pth` and `.safetensors` files, applying
//! them to a model by name, exporting fine-tuned models, and the ImageNet weight cache.

mod error;
mod export;
mod file;
mod guess;
pub mod imagenet;
mod load;
mod pretrained;

pub use error::{Mismatch, Unexpected, WeightError};
pub use export::{SaveDtype, save_safetensors, save_safetensors_where};
pub use file::{FileFormat, StoredTensor, WeightFile};
pub use guess::guess_arch;
pub use load::{LoadReport, load_weights};
pub use pretrained::{WeightsSpec, open_model};
