//! One file per subcommand: argument handling and printing, over the library's logic.

pub mod bench;
pub mod compare;
pub mod export;
pub mod info;
pub mod predict;
pub mod runs;
pub mod show;
pub mod train;

use std::io::Write;

use crate::backend::Cpu;
use crate::model::{Arch, ResNet};
use crate::weights::{LoadReport, WeightsSpec, open_model};

/// Which model and weights a command works on: `export`'s flags, and what `predict` makes of its
/// own (or of a run directory).
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// resnet18, resnet34, resnet50, resnet101 or resnet152.
    #[arg(long = "model", value_name = "MODEL")]
    pub arch: Arch,
    /// A .pth or .safetensors file, "imagenet", or "none" for random initialisation.
    #[arg(long)]
    pub weights: WeightsSpec,
    /// Class count of the head (default: the one in the weights file, else 1000).
    #[arg(long)]
    pub num_classes: Option<usize>,
}

impl ModelArgs {
    /// The model on the CPU, for inference or export (no dropout).
    pub fn open(&self) -> Result<(ResNet<Cpu>, LoadReport), crate::weights::WeightError> {
        open_model::<Cpu>(self.arch, self.num_classes, 0.0, &self.weights, &Default::default())
    }
}

/// Writes `text` to stdout; a reader that stopped early (`kiln show RUN | head`) is no error.
pub fn print_all(text: &str) -> std::io::Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
