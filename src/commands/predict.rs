use std::path::PathBuf;

use crate::commands::{ModelFlags, Trained, TransformFlags};
use crate::data::{IMAGE_EXTENSIONS, eval_tensor_rgb, images_under, load_rgb};
use crate::predict::{Prediction, predict};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A run directory: its best weights (checkpoints/best, else last), classes.txt, model and
    /// transform (data.image_size, resize, mean, std), and whether it was multi-label.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["arch", "weights", "num_classes", "classes", "multi_label", "image_size", "resize"])]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelFlags,
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
    #[command(flatten)]
    pub transform: TransformFlags,
    /// Image files, and folders: every image inside a folder, at any depth, in name order.
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// Images go through the model this many at a time, bounding memory for long lists.
const CHUNK: usize = 16;

pub fn run(opts: Options) -> anyhow::Result<()> {
    let setup = match &opts.run {
        Some(run) => Trained::of_run(run)?,
        None => Trained::of_flags(&opts.model, &opts.transform, opts.classes.clone(), opts.multi_label)?,
    };
    let images = expand(&opts.images)?;
    let (model, report) = setup.args.open()?;
    if let Some(why) = report.head_reset {
        eprintln!("warning: {why}; fc was freshly initialised, its predictions are untrained");
    }
    let names = match &setup.classes {
        Some(path) => super::read_class_names(path, Some(model.num_classes()))?,
        None => (0..model.num_classes()).map(|i| format!("class {i}")).collect(),
    };
    let transform = setup.transform;
    let size = transform.image_size as usize;

    // BatchNorm folded into the convolutions once: inference then skips its passes.
    let folded = model.folded();
    let mut unreadable = 0;
    for chunk in images.chunks(CHUNK) {
        let mut batch = Vec::with_capacity(chunk.len() * transform.tensor_len());
        let mut read = Vec::with_capacity(chunk.len());
        for image in chunk {
            // One unreadable file costs its own line, not the rest of the list.
            match load_rgb(image) {
                Ok(rgb) => {
                    batch.extend(eval_tensor_rgb(&rgb, &transform));
                    read.push(image);
                }
                Err(e) => {
                    eprintln!("warning: {e} (skipped)");
                    unreadable += 1;
                }
            }
        }
        if read.is_empty() {
            continue;
        }
        for (image, prediction) in read
            .iter()
            .zip(predict(&model, &folded, batch, read.len(), size, setup.multi_label))
        {
            let text = if opts.json {
                let mut value = serde_json::to_value(&prediction)?;
                value["image"] = serde_json::Value::String(image.display().to_string());
                format!("{value}\n")
            } else if setup.multi_label {
                let present: Vec<&str> = (0..names.len())
                    .filter(|&c| prediction.probabilities[c] > 0.5)
                    .map(|c| names[c].as_str())
                    .collect();
                let present = if present.is_empty() {
                    "no label above 50 %".into()
                } else {
                    present.join(", ")
                };
                format!(
                    "{}: {present}\n{}",
                    image.display(),
                    ranked(&prediction, &names, names.len())
                )
            } else {
                format!("{}\n{}", image.display(), ranked(&prediction, &names, opts.top))
            };
            // `kiln predict --run RUN folder/ | head`: the rest would be predicted for nobody.
            if !super::print_while_read(&text)? {
                return Ok(());
            }
        }
    }
    let predicted = match images.len() - unreadable {
        0 => "none was predicted".to_string(),
        1 => "the other was predicted".to_string(),
        n => format!("the other {n} were predicted"),
    };
    anyhow::ensure!(
        unreadable == 0,
        "{unreadable} of {} images could not be read (named above); {predicted}",
        images.len()
    );
    Ok(())
}

/// "  99.98%  7" for each of the `top` most probable classes, a line each.
fn ranked(prediction: &Prediction, names: &[String], top: usize) -> String {
    prediction
        .top(top)
        .into_iter()
        .map(|(class, p)| format!("  {:>6.2}%  {}\n", p * 100.0, names[class]))
        .collect()
}

/// The files to classify: files as given, each folder replaced by the images inside it.
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let (images, others) = images_under(path)?;
        anyhow::ensure!(
            !images.is_empty(),
            "folder {} holds no images (kiln reads {}); name image files or a folder of them",
            path.display(),
            IMAGE_EXTENSIONS.join(", ")
        );
        match others.len() {
            0 => {}
            1 => eprintln!("note: 1 file under {} is not an image and was left out", path.display()),
            n => eprintln!(
                "note: {n} files under {} are not images and were left out",
                path.display()
            ),
        }
        files.extend(images);
    }
    Ok(files)
}
