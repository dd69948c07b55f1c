//! The command line: `kiln train`, `info`, `predict`, `export`. Each subcommand's options
//! live beside its code in `commands/`.

use clap::{Parser, Subcommand};

use crate::commands;

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
    /// Fine-tune a model as a config describes (or continue a run with --resume).
    Train(commands::train::Options),
    /// Show a model's groups (stem, stages, blocks, head) and their parameter counts.
    Info(commands::info::Options),
    /// Classify images with a model and its weights.
    Predict(commands::predict::Options),
    /// Write a model's weights as a torchvision-named .safetensors file that PyTorch loads.
    Export(commands::export::Options),
}

pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = |r: anyhow::Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        Command::Train(opts) => commands::train::run(opts),
        Command::Info(opts) => ok(commands::info::run(opts)),
        Command::Predict(opts) => ok(commands::predict::run(opts)),
        Command::Export(opts) => ok(commands::export::run(opts)),
    }
}
