//! The command line: `kiln info`, `kiln predict`, ...

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;
use crate::model::Arch;
use crate::weights::{SaveDtype, WeightsSpec};

#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "Fine-tune pretrained ResNet image classifiers from the terminal"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a model's groups (stem, stages, blocks, head) and their parameter counts.
    Info {
        /// resnet18, resnet34, resnet50, resnet101 or resnet152.
        model: Arch,
        /// Class count of the head.
        #[arg(long, default_value_t = 1000)]
        num_classes: usize,
        /// List every block inside the stages.
        #[arg(long)]
        blocks: bool,
    },
    /// Classify images with a model and its weights.
    Predict {
        #[arg(long)]
        model: Arch,
        /// A .pth or .safetensors file, or "imagenet".
        #[arg(long)]
        weights: WeightsSpec,
        /// Class count of the head (default: the one in the weights file).
        #[arg(long)]
        num_classes: Option<usize>,
        /// A file with one class name per line, in class-index order (a run's classes.txt).
        #[arg(long)]
        classes: Option<PathBuf>,
        /// How many top classes to show.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Print one JSON object per image with its logits and probabilities.
        #[arg(long)]
        json: bool,
        /// Side of the centre crop fed to the model.
        #[arg(long, default_value_t = 224)]
        image_size: usize,
        /// Shorter side after resizing, before the crop (default: image size x 8/7, as torchvision).
        #[arg(long)]
        resize: Option<u32>,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Fine-tune a model as a config describes (or continue a run with --resume).
    Train {
        /// A TOML run config, e.g. configs/quickstart.toml.
        config: Option<PathBuf>,
        /// Continue the run in RUN_DIR from its last checkpoint.
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        /// Override a config key with a TOML value: --set train.lr=3e-4 --set train.freeze=[]
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Where run directories are created.
        #[arg(long, default_value = "runs")]
        runs_dir: PathBuf,
        /// Run name (default: the config file's name).
        #[arg(long)]
        name: Option<String>,
        /// Plain line output instead of the dashboard.
        #[arg(long)]
        no_tui: bool,
    },
    /// Write a model's weights as a torchvision-named .safetensors file that PyTorch loads.
    Export {
        #[arg(long)]
        model: Arch,
        /// A .pth or .safetensors file, "imagenet", or "none" for random initialisation.
        #[arg(long)]
        weights: WeightsSpec,
        /// Class count of the head (default: the one in the weights file, else 1000).
        #[arg(long)]
        num_classes: Option<usize>,
        /// f32, f16 or bf16.
        #[arg(long, default_value = "f32")]
        dtype: SaveDtype,
        /// Where to write the .safetensors file.
        #[arg(long)]
        out: PathBuf,
        /// Leave out the classifier (fc): a backbone for fine-tuning on other classes.
        #[arg(long)]
        backbone_only: bool,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = |r: anyhow::Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        Command::Train {
            config,
            resume,
            sets,
            runs_dir,
            name,
            no_tui,
        } => commands::train::run(commands::train::Options {
            config,
            resume,
            sets,
            runs_dir,
            name,
            no_tui,
        }),
        Command::Info {
            model,
            num_classes,
            blocks,
        } => ok(commands::info::run(model, num_classes, blocks)),
        Command::Predict {
            model,
            weights,
            num_classes,
            classes,
            top,
            json,
            image_size,
            resize,
            images,
        } => ok(commands::predict::run(commands::predict::Options {
            arch: model,
            weights,
            num_classes,
            classes,
            top,
            json,
            image_size,
            resize,
            images,
        })),
        Command::Export {
            model,
            weights,
            num_classes,
            dtype,
            out,
            backbone_only,
        } => ok(commands::export::run(
            model,
            &weights,
            num_classes,
            dtype,
            &out,
            backbone_only,
        )),
    }
}
