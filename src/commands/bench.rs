use std::io::Write;

use crate::bench::{self, Mode, Spec};
use crate::config::{Device, Precision};
use crate::model::Arch;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// resnet18, resnet34, resnet50, resnet101 or resnet152 (a comma list runs each).
    #[arg(long, value_delimiter = ',', default_value = "resnet18")]
    pub model: Vec<Arch>,
    /// Images per step (a comma list runs each).
    #[arg(long, value_delimiter = ',', default_value = "8")]
    pub batch: Vec<usize>,
    #[arg(long, default_value_t = 224)]
    pub image_size: usize,
    /// full: all layers train; frozen: stem+layer1+layer2 frozen; head: only fc trains; eval:
    /// inference (a comma list runs each).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "full")]
    pub mode: Vec<Mode>,
    /// Timed steps (images/s is their median).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed steps first (allocation, kernel tuning).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Class count of the head.
    #[arg(long, default_value_t = 1000)]
    pub classes: usize,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// f32, or bf16 on CUDA (a comma list runs each).
    #[arg(long, value_delimiter = ',', default_value = "f32")]
    pub precision: Vec<Precision>,
    /// Run the frozen prefix's BatchNorm as separate layers instead of folding it into the
    /// convolutions (to measure what folding gains).
    #[arg(long)]
    pub no_fold: bool,
    /// Print one JSON object per benchmark instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// Runs every combination of the listed values in this one process (GPU kernels compiled for
/// one are reused by the next), printing each result as it comes.
pub fn run(opts: Options) -> anyhow::Result<()> {
    anyhow::ensure!(opts.steps > 0, "--steps must be at least 1");
    anyhow::ensure!(!opts.batch.contains(&0), "--batch must be at least 1");
    anyhow::ensure!(
        opts.image_size >= 32,
        "--image-size {} is too small for a ResNet: use 32 or more",
        opts.image_size
    );
    let mut specs = Vec::new();
    for &precision in &opts.precision {
        let device = crate::device::select(opts.device, precision, crate::device::Named::Flags)?;
        for &arch in &opts.model {
            for &mode in &opts.mode {
                for &batch in &opts.batch {
                    specs.push(Spec {
                        arch,
                        mode,
                        batch,
                        image_size: opts.image_size,
                        classes: opts.classes.max(2),
                        steps: opts.steps,
                        warmup: opts.warmup,
                        device,
                        precision,
                        fold: !opts.no_fold,
                    });
                }
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for spec in &specs {
        let report = bench::run(spec);
        if opts.json {
            writeln!(out, "{}", serde_json::to_string(&report)?)?;
        } else {
            writeln!(out, "{}", report.lines())?;
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        let cli = Cli::try_parse_from(["kiln", "bench"].iter().chain(args))?;
        match cli.command {
            Command::Bench(opts) => Ok(opts),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn comma_lists_name_every_combination_to_run() {
        let o = parse(&[
            "--model",
            "resnet50,resnet152",
            "--mode",
            "full,frozen",
            "--batch",
            "32,64",
            "--precision",
            "f32,bf16",
        ])
        .unwrap();
        assert_eq!(o.model, [Arch::ResNet50, Arch::ResNet152]);
        assert_eq!(o.mode, [Mode::Full, Mode::Frozen]);
        assert_eq!(o.batch, [32, 64]);
        assert_eq!(o.precision, [Precision::F32, Precision::Bf16]);
        let o = parse(&[]).unwrap();
        assert_eq!(
            (o.model, o.mode, o.batch, o.image_size),
            (vec![Arch::ResNet18], vec![Mode::Full], vec![8], 224)
        );
        assert!(parse(&["--mode", "fast"]).unwrap_err().to_string().contains("full"));
    }
}
