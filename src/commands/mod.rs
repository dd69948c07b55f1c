//! One file per subcommand: argument handling and printing, over the library's logic.

pub mod bench;
pub mod compare;
pub mod evaluate;
pub mod export;
pub mod info;
pub mod lr_find;
pub mod predict;
pub mod runs;
pub mod show;
pub mod train;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::backend::Cpu;
use crate::config::RunConfig;
use crate::data::TransformConfig;
use crate::model::{Arch, ResNet};
use crate::runlog::RunDir;
use crate::train::checkpoint;
use crate::weights::{LoadReport, WeightsSpec, open_model};

/// `predict`'s, `evaluate`'s and `export`'s model flags, each required unless the command's
/// `--run` is given.
#[derive(Debug, clap::Args)]
pub struct ModelFlags {
    /// resnet18, resnet34, resnet50, resnet101 or resnet152.
    #[arg(long = "model", value_name = "MODEL", required_unless_present = "run")]
    pub arch: Option<Arch>,
    /// A .pth or .safetensors file, "imagenet", or "none" for random initialisation.
    #[arg(long, required_unless_present = "run")]
    pub weights: Option<WeightsSpec>,
    /// Class count of the head (default: the one in the weights file, else 1000).
    #[arg(long)]
    pub num_classes: Option<usize>,
}

/// Which model and weights `predict` and `export` work on: from their flags, or a run's.
#[derive(Debug, Clone)]
pub struct ModelArgs {
    pub arch: Arch,
    pub weights: WeightsSpec,
    /// Class count of the head (default: the one in the weights file, else 1000).
    pub num_classes: Option<usize>,
}

impl ModelArgs {
    /// `--model` and `--weights` (clap asks for both unless `--run` is given).
    pub fn from_flags(flags: &ModelFlags) -> anyhow::Result<Self> {
        let (Some(arch), Some(weights)) = (flags.arch, flags.weights.clone()) else {
            anyhow::bail!("give --model and --weights, or --run RUN_DIR");
        };
        Ok(ModelArgs {
            arch,
            weights,
            num_classes: flags.num_classes,
        })
    }

    /// A run's model with its best weights (checkpoints/best, else last), with the run
    /// directory and its config for the rest of what the run knows.
    pub fn of_run(run: &Path) -> anyhow::Result<(Self, RunDir, RunConfig)> {
        let dir = RunDir::open(run)?;
        let config = RunConfig::load_recorded(dir.config())?;
        // `find` also takes the copy a kill left aside in the middle of a checkpoint's swap.
        let weights = ["best", "last"]
            .into_iter()
            .find_map(|which| checkpoint::find(&dir.checkpoint(which)))
            .map(|checkpoint| checkpoint.join("model.safetensors"))
            .with_context(|| format!("{} has no checkpoint yet (checkpoints/best or last)", run.display()))?;
        let args = ModelArgs {
            arch: config.model.arch,
            weights: WeightsSpec::File(weights),
            num_classes: None,
        };
        Ok((args, dir, config))
    }

    /// The model on the CPU, for inference or export (no dropout).
    pub fn open(&self) -> Result<(ResNet<Cpu>, LoadReport), crate::weights::WeightError> {
        self.open_on::<Cpu>(&Default::default())
    }

    /// The model on `device`, for inference (no dropout).
    pub fn open_on<B: burn::prelude::Backend>(
        &self,
        device: &B::Device,
    ) -> Result<(ResNet<B>, LoadReport), crate::weights::WeightError> {
        open_model::<B>(self.arch, self.num_classes, 0.0, &self.weights, device)
    }
}

/// `predict`'s and `evaluate`'s transform flags (a run brings its own transform).
#[derive(Debug, clap::Args)]
pub struct TransformFlags {
    /// Side of the centre crop fed to the model [default: 224].
    #[arg(long)]
    pub image_size: Option<u32>,
    /// Shorter side after resizing, before the crop (default: image size x 8/7, as torchvision).
    #[arg(long)]
    pub resize: Option<u32>,
}

/// A trained model and what it was trained to see: from a run directory, or from flags.
pub struct Trained {
    pub args: ModelArgs,
    /// Its classes.txt, if known.
    pub classes: Option<PathBuf>,
    pub transform: TransformConfig,
    /// One sigmoid per label rather than a softmax.
    pub multi_label: bool,
    /// The run it came from.
    pub run: Option<(RunDir, RunConfig)>,
}

impl Trained {
    /// Everything from the run directory, as its training saw it.
    pub fn of_run(run: &Path) -> anyhow::Result<Self> {
        let (args, dir, config) = ModelArgs::of_run(run)?;
        Ok(Trained {
            args,
            classes: Some(dir.classes()),
            transform: config.data.transform(),
            multi_label: config.data.multi_label_csv.is_some(),
            run: Some((dir, config)),
        })
    }

    /// From the model, transform and class flags; `multi_label` as the command knows it.
    pub fn of_flags(
        model: &ModelFlags,
        transform: &TransformFlags,
        classes: Option<PathBuf>,
        multi_label: bool,
    ) -> anyhow::Result<Self> {
        let transform = TransformConfig {
            image_size: transform.image_size.unwrap_or(224),
            resize: transform.resize,
            ..TransformConfig::default()
        };
        // A run's transform was validated with its config; this checks the flags'.
        transform.validate().context("invalid --image-size or --resize")?;
        Ok(Trained {
            args: ModelArgs::from_flags(model)?,
            classes,
            transform,
            multi_label,
            run: None,
        })
    }
}

/// Writes `text` to stdout; a reader that stopped early (`kiln show RUN | head`) is no error.
pub fn print_all(text: &str) -> std::io::Result<()> {
    print_while_read(text).map(|_| ())
}

/// [`print_all`] for output written piece by piece: `false` once the reader has gone, so the
/// command can stop instead of working for nobody.
pub fn print_while_read(text: &str) -> std::io::Result<bool> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        other => other.map(|()| true),
    }
}

/// The class names of a classes.txt (one per line, in class-index order); with `count`, they
/// must be as many as the model's classes.
pub fn read_class_names(path: &Path, count: Option<usize>) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read class names from {}", path.display()))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    anyhow::ensure!(
        !names.is_empty(),
        "{} lists no class names; give the classes.txt of the run that made these weights",
        path.display()
    );
    if let Some(count) = count {
        check_class_count(path, &names, count)?;
    }
    Ok(names)
}

/// A classes.txt's names against the model's class count.
pub fn check_class_count(path: &Path, names: &[String], count: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        names.len() == count,
        "{} lists {} class names but the model has {count} classes; give the classes.txt of the run that made these weights",
        path.display(),
        names.len()
    );
    Ok(())
}

/// `path` as typed in a shell: quoted when it holds anything but plain path characters.
pub fn shell_quoted(path: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c);
    match !path.is_empty() && path.chars().all(plain) {
        true => path.to_string(),
        false => format!("'{}'", path.replace('\'', r"'\''")),
    }
}

/// The commands to run next on a finished run's weights: none for a failed run, or an aborted
/// one that kept no checkpoint; `evaluate` on the validation split where there is no test split.
pub fn next_commands(summary: &crate::train::event::Summary, run_dir: &str) -> Vec<String> {
    use crate::train::event::Status;
    let has_weights = match summary.status {
        Status::Failed => false,
        Status::Aborted => summary.best_epoch.is_some(),
        Status::Completed | Status::EarlyStopped | Status::Stopped => true,
    };
    if !has_weights {
        return Vec::new();
    }
    let dir = shell_quoted(run_dir);
    let split = if summary.test.is_some() { "" } else { " --split val" };
    vec![
        format!("kiln evaluate --run {dir}{split}"),
        format!("kiln predict --run {dir} IMAGE..."),
    ]
}
