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
    /// Sweep the learning rate up over a short run and suggest train.lr (nothing is kept).
    LrFind(commands::lr_find::Options),
    /// Show a model's groups (stem, stages, blocks, head) and their parameter counts.
    Info(commands::info::Options),
    /// Classify images with a model and its weights.
    Predict(commands::predict::Options),
    /// Score a model on labelled images: per-class figures, confusion, its surest mistakes.
    Evaluate(commands::evaluate::Options),
    /// Write a model's weights as a torchvision-named .safetensors file that PyTorch loads.
    Export(commands::export::Options),
    /// List the runs in a directory: model, data, status, best validation accuracy, epochs.
    Runs(commands::runs::Options),
    /// Replay a run's dashboard from its events (following a run that is still going).
    Show(commands::show::Options),
    /// Overlay several runs' curves by epoch.
    Compare(commands::compare::Options),
    /// Measure training or inference images/s on synthetic inputs.
    Bench(commands::bench::Options),
}

pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let ok = |r: anyhow::Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        Command::Train(opts) => commands::train::run(opts),
        Command::LrFind(opts) => ok(commands::lr_find::run(opts)),
        Command::Info(opts) => ok(commands::info::run(opts)),
        Command::Predict(opts) => ok(commands::predict::run(opts)),
        Command::Evaluate(opts) => ok(commands::evaluate::run(opts)),
        Command::Export(opts) => ok(commands::export::run(opts)),
        Command::Runs(opts) => ok(commands::runs::run(opts)),
        Command::Show(opts) => ok(commands::show::run(opts)),
        Command::Compare(opts) => ok(commands::compare::run(opts)),
        Command::Bench(opts) => ok(commands::bench::run(opts)),
    }
}

/// An error and its causes on one line. kiln's own messages often quote their cause already
/// (`cannot read X: No such file`), so a cause whose text is already said is not repeated.
pub fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn causes_already_quoted_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let quoted = anyhow::Error::new(io).context("cannot read a.toml: No such file");
        assert_eq!(describe(&quoted), "cannot read a.toml: No such file");
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let plain = anyhow::Error::new(io).context("cannot open runs/x");
        assert_eq!(describe(&plain), "cannot open runs/x: No such file");
    }
}
