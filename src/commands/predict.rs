use std::path::PathBuf;

use anyhow::Context;

use crate::commands::ModelArgs;
use crate::data::{TransformConfig, eval_tensor_rgb, load_rgb};
use crate::predict::predict;

#[derive(Debug, clap::Args)]
pub struct Options {
    #[command(flatten)]
    pub model: ModelArgs,
    /// A file with one class name per line, in class-index order (a run's classes.txt).
    #[arg(long)]
    pub classes: Option<PathBuf>,
    /// How many top classes to show.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print one JSON object per image with its logits and probabilities.
    #[arg(long)]
    pub json: bool,
    /// The model was trained on multi-label data: one sigmoid per label, and every label whose
    /// probability is above 50 % is shown as present.
    #[arg(long)]
    pub multi_label: bool,
    /// Side of the centre crop fed to the model.
    #[arg(long, default_value_t = 224)]
    pub image_size: usize,
    /// Shorter side after resizing, before the crop (default: image size x 8/7, as torchvision).
    #[arg(long)]
    pub resize: Option<u32>,
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// Images go through the model this many at a time, bounding memory for long lists.
const CHUNK: usize = 16;

pub fn run(opts: Options) -> anyhow::Result<()> {
    let (model, report) = opts.model.open()?;
    if let Some(why) = report.head_reset {
        eprintln!("warning: {why}; fc was freshly initialised, its predictions are untrained");
    }
    let names = class_names(opts.classes.as_ref(), model.num_classes())?;
    let transform = TransformConfig {
        image_size: opts.image_size as u32,
        resize: opts.resize,
        ..TransformConfig::default()
    };
    transform.validate().context("invalid --image-size")?;

    // BatchNorm folded into the convolutions once: inference then skips its passes.
    let folded = model.folded();
    for chunk in opts.images.chunks(CHUNK) {
        let mut batch = Vec::with_capacity(chunk.len() * transform.tensor_len());
        for image in chunk {
            batch.extend(eval_tensor_rgb(&load_rgb(image)?, &transform));
        }
        for (image, prediction) in chunk.iter().zip(predict(
            &model,
            &folded,
            batch,
            chunk.len(),
            opts.image_size,
            opts.multi_label,
        )) {
            if opts.json {
                let mut value = serde_json::to_value(&prediction)?;
                value["image"] = serde_json::Value::String(image.display().to_string());
                println!("{value}");
            } else if opts.multi_label {
                let present: Vec<&str> = (0..names.len())
                    .filter(|&c| prediction.probabilities[c] > 0.5)
                    .map(|c| names[c].as_str())
                    .collect();
                let present = if present.is_empty() {
                    "no label above 50 %".into()
                } else {
                    present.join(", ")
                };
                println!("{}: {present}", image.display());
                for (class, p) in prediction.top(names.len()) {
                    println!("  {:>6.2}%  {}", p * 100.0, names[class]);
                }
            } else {
                println!("{}", image.display());
                for (class, p) in prediction.top(opts.top) {
                    println!("  {:>6.2}%  {}", p * 100.0, names[class]);
                }
            }
        }
    }
    Ok(())
}

/// Names from a classes.txt (one per line), or the class indices.
fn class_names(path: Option<&PathBuf>, count: usize) -> anyhow::Result<Vec<String>> {
    let Some(path) = path else {
        return Ok((0..count).map(|i| format!("class {i}")).collect());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read class names from {}", path.display()))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    anyhow::ensure!(
        names.len() == count,
        "{} lists {} class names but the model has {count} classes; give the classes.txt of the run that made these weights",
        path.display(),
        names.len()
    );
    Ok(names)
}
