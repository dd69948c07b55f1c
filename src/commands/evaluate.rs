//! `kiln evaluate`: a model's loss, accuracy, F1 and AUC on labelled images, a row per class,
//! the confusion matrix and the images it got most confidently wrong. The images are a folder
//! of class folders, a multi-label CSV, or a part of a run's own split.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use burn::tensor::backend::AutodiffBackend;

use crate::commands::{ModelFlags, Trained, TransformFlags};

use crate::backend::KilnBackend;
use crate::config::{Device, Precision};
use crate::data::{Loader, LoaderConfig, Mode, Part, Sample, Skipped, Transform};
use crate::evaluation::{Labelled, Mistake, Mistakes, Wrong, labelled, report};
use crate::train::checkpoint;
use crate::train::evaluate::evaluate_each;
use crate::train::metrics::EvalMetrics;
use crate::weights::WeightsSpec;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A run directory: its best weights (checkpoints/best, else last), classes.txt and
    /// transform; with no FOLDER or --label-csv, the images of its --split.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["arch", "weights", "num_classes", "classes", "image_size", "resize"])]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelFlags,
    /// The model's class names, one per line in class-index order (a run's classes.txt).
    #[arg(long, required_unless_present = "run")]
    pub classes: Option<PathBuf>,
    /// The part of the run's split to evaluate: test, val or train [default: test].
    #[arg(long, requires = "run", conflicts_with_all = ["folder", "label_csv"], value_parser = part)]
    pub split: Option<Part>,
    /// Multi-label images: a CSV of `path,labels` (labels separated by `;`), its paths relative
    /// to FOLDER (default: the run's data.root, else the CSV's own folder).
    #[arg(long, value_name = "CSV")]
    pub label_csv: Option<PathBuf>,
    /// How many of the most confidently wrong images to list.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub worst: usize,
    /// Print one JSON object with every figure instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// auto, cpu, cuda or cuda:N [default: the run's train.device, else auto].
    #[arg(long)]
    pub device: Option<Device>,
    /// Decoding threads (0 = one per CPU core).
    #[arg(long, default_value_t = 0)]
    pub workers: usize,
    #[command(flatten)]
    pub transform: TransformFlags,
    /// A folder with one sub-folder per class, each named as one of the model's classes (a
    /// few of them will do); the root of --label-csv's paths.
    pub folder: Option<PathBuf>,
}

fn part(s: &str) -> Result<Part, String> {
    Part::parse(s).ok_or_else(|| format!("`{s}` is not a part of a split: give test, val or train"))
}

/// The model, what it was trained to see, and its class names.
struct Model {
    trained: Trained,
    /// Its classes.txt and the names in it.
    classes: PathBuf,
    names: Vec<String>,
    /// "runs/x/checkpoints/best (after epoch 8)", or the weights file.
    described: String,
}

impl Model {
    fn of(opts: &Options) -> anyhow::Result<Self> {
        let trained = match &opts.run {
            Some(run) => Trained::of_run(run)?,
            None => Trained::of_flags(
                &opts.model,
                &opts.transform,
                opts.classes.clone(),
                opts.label_csv.is_some(),
            )?,
        };
        anyhow::ensure!(
            trained.args.weights != WeightsSpec::None,
            "--weights none is a freshly initialised model, with nothing to evaluate; give the weights of a \
             fine-tuned model (a run's checkpoint, or kiln export's file)"
        );
        let described = match &trained.args.weights {
            WeightsSpec::File(file) if trained.run.is_some() => {
                file.parent().map_or_else(|| file.display().to_string(), checkpoint_of)
            }
            other => other.to_string(),
        };
        // clap asks for --classes unless --run is given, and a run has its classes.txt.
        let classes = trained.classes.clone().context("give --classes classes.txt")?;
        Ok(Model {
            names: super::read_class_names(&classes, None)?,
            classes,
            described,
            trained,
        })
    }
}

/// The labelled images to evaluate on, and how to name them: a FOLDER of class folders, a
/// label CSV, or a part of the run's split.
fn images_of(opts: &Options, model: &Model) -> anyhow::Result<(Labelled, String)> {
    let names = &model.names;
    let multi = model.trained.multi_label;
    let given = opts.folder.is_some() || opts.label_csv.is_some();
    if let Some((dir, config)) = model.trained.run.as_ref().filter(|_| !given) {
        let part = opts.split.unwrap_or(Part::Test);
        let csv = config.data.multi_label_csv.as_deref();
        let images = labelled::from_split(&dir.split(), &config.data.root, csv, part, names)?;
        return Ok((images, format!("{} split of {}", part.as_str(), dir.path.display())));
    }
    if let Some((dir, _)) = &model.trained.run {
        anyhow::ensure!(
            multi == opts.label_csv.is_some(),
            "{} is a {} run: {}",
            dir.path.display(),
            if multi { "multi-label" } else { "single-label" },
            if multi {
                "give its images' labels with --label-csv CSV, or evaluate a part of its own split with --split"
            } else {
                "give a FOLDER of class folders, not --label-csv"
            }
        );
    }
    if let Some(csv) = &opts.label_csv {
        // Paths as training read them: under the run's data root, unless a FOLDER is given.
        let root = match (&opts.folder, &model.trained.run) {
            (Some(folder), _) => folder.clone(),
            (None, Some((_, config))) => config.data.root.clone(),
            (None, None) => csv.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        return Ok((labelled::from_csv(csv, &root, names)?, csv.display().to_string()));
    }
    let folder = opts
        .folder
        .as_ref()
        .context("give a FOLDER of class folders to evaluate on (or --label-csv CSV)")?;
    Ok((labelled::from_folder(folder, names)?, folder.display().to_string()))
}

/// "runs/x/checkpoints/best (after epoch 8)" from a checkpoint folder's state.
fn checkpoint_of(dir: &Path) -> String {
    let when = match checkpoint::load_state(dir) {
        Ok(state) if state.batches_done == 0 => format!(" (after epoch {})", state.epoch.saturating_sub(1)),
        Ok(state) => format!(" (epoch {}, {} batches in)", state.epoch, state.batches_done),
        Err(_) => String::new(),
    };
    format!("{}{when}", dir.display())
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    anyhow::ensure!(opts.batch_size > 0, "--batch-size must be at least 1");
    let model = Model::of(&opts)?;
    let requested = match (opts.device, &model.trained.run) {
        (Some(device), _) => device,
        (None, Some((_, config))) => config.train.device,
        (None, None) => Device::Auto,
    };
    let selected = crate::device::select(requested, Precision::F32, crate::device::Named::Flags)?;
    let scored = crate::with_backend!(selected, |device: B| {
        score::<<B as AutodiffBackend>::InnerBackend>(&opts, &model, &device)?
    });
    let Scored {
        metrics,
        source,
        samples,
        skipped,
        mistakes,
    } = scored;
    let rows = report::with_images(&metrics);
    let with_images = report::macro_f1(&metrics, &rows);
    let wrong = mistakes.count();
    let worst = mistakes.worst(opts.worst);
    let path = |i: usize| samples[i].path.display().to_string();
    let device = selected.to_string();
    let out = Outcome {
        model: &model,
        device: &device,
        source: &source,
        metrics: &metrics,
        rows: &rows,
        f1_macro: with_images,
        wrong,
        worst: &worst,
        skipped: skipped.len(),
    };
    let text = if opts.json {
        let mut value = out.json(&path);
        value["skipped"] = skipped
            .iter()
            .map(|s| serde_json::json!({"image": s.path.display().to_string(), "reason": s.reason}))
            .collect();
        format!("{value}\n")
    } else {
        out.text(&path, opts.worst)
    };
    super::print_all(&text)?;
    Ok(())
}

/// The model's outputs over the images, on one device.
struct Scored {
    metrics: EvalMetrics,
    /// What the images were, for the report's header.
    source: String,
    samples: Vec<Sample>,
    skipped: Vec<Skipped>,
    mistakes: Mistakes,
}

fn score<K: KilnBackend>(opts: &Options, model: &Model, device: &K::Device) -> anyhow::Result<Scored> {
    let (network, load) = model.trained.args.open_on::<K>(device)?;
    if let Some(why) = load.head_reset {
        anyhow::bail!(
            "{why}: its classifier would be freshly initialised, so there is nothing to evaluate; give the \
             weights of a fine-tuned model (a run's checkpoint, or kiln export's file)"
        );
    }
    // Before the images are matched to the names: a wrong classes.txt would mislead there.
    super::check_class_count(&model.classes, &model.names, network.num_classes())?;
    let (images, source) = images_of(opts, model)?;
    for note in &images.notes {
        eprintln!("note: {note}");
    }
    let classes = model.names.len();
    let Labelled { samples, multi, .. } = images;
    let transform = Transform::new(model.trained.transform.clone(), Mode::Eval, 0)?;
    let config = LoaderConfig {
        batch_size: opts.batch_size,
        workers: opts.workers,
        shuffle: false,
        ..LoaderConfig::default()
    };
    let loader = Loader::new(samples, transform, config)?;
    let samples = loader.samples();
    let mut progress = Progress::new(loader.len(), !opts.json && std::io::stderr().is_terminal());
    let mut mistakes = Mistakes::default();
    let size = model.trained.transform.image_size as usize;
    let each = |indices: &[usize], logits: &[f32]| {
        for (&i, row) in indices.iter().zip(logits.chunks_exact(classes)) {
            match &multi {
                Some(multi) => mistakes.multi(i, &multi.multi_hot([samples[i].path.as_path()]), row),
                None => mistakes.single(i, samples[i].label, row),
            }
        }
        progress.add(indices.len());
    };
    let (metrics, skipped) = evaluate_each(&network, &loader, size, classes, multi.as_ref(), None, each);
    progress.done();
    for s in &skipped {
        eprintln!("warning: skipped unreadable image {}: {}", s.path.display(), s.reason);
    }
    anyhow::ensure!(
        metrics.samples > 0,
        "none of the {} images of {source} could be read (named above)",
        samples.len()
    );
    Ok(Scored {
        metrics,
        source,
        samples: samples.to_vec(),
        skipped,
        mistakes,
    })
}

/// What an evaluation found, for printing.
struct Outcome<'a> {
    model: &'a Model,
    device: &'a str,
    source: &'a str,
    metrics: &'a EvalMetrics,
    /// The classes with images, a row each, and their macro F1.
    rows: &'a [usize],
    f1_macro: f64,
    wrong: usize,
    worst: &'a [Mistake],
    skipped: usize,
}

impl Outcome<'_> {
    fn text(&self, path: &impl Fn(usize) -> String, asked: usize) -> String {
        // The headline's and the table's macro F1 are over the classes the table lists.
        let m = &EvalMetrics {
            f1_macro: self.f1_macro,
            ..self.metrics.clone()
        };
        let mut out = format!(
            "{} from {}, on {}\n{}: {} images{}\n{}\n",
            self.model.trained.args.arch,
            self.model.described,
            self.device,
            self.source,
            m.samples,
            match self.skipped {
                0 => String::new(),
                n => format!(" ({n} unreadable, left out and named above)"),
            },
            report::headline(m, self.model.trained.multi_label)
        );
        let names = &self.model.names;
        let matrix = report::in_matrix(m);
        let absent = names.len() - self.rows.len();
        if absent > 0 {
            let predicted: Vec<&str> = matrix
                .iter()
                .filter(|c| !self.rows.contains(c))
                .map(|&c| names[c].as_str())
                .collect();
            let predicted = match predicted.as_slice() {
                [] => String::new(),
                [one] => format!(", though {one} was predicted"),
                [many @ .., last] => format!(", though {} and {last} were predicted", many.join(", ")),
            };
            out += &format!(
                "{absent} of the model's {} classes {} no images here{predicted}; the rows and macro figures cover the {} with images\n",
                names.len(),
                if absent == 1 { "has" } else { "have" },
                self.rows.len()
            );
        }
        out += "\n";
        out += &report::per_class(names, m, self.rows);
        if let Some(text) = report::confusion(names, m, &matrix) {
            out += "\nconfusion (rows: true class, columns: predicted)\n";
            out += &text;
        } else if !self.model.trained.multi_label {
            out += "\n(the confusion matrix has too many classes to print; --json has it)\n";
        }
        let pairs = report::most_confused(&self.model.names, m, 5);
        if !pairs.is_empty() {
            out += &format!("most confused: {}\n", pairs.join(", "));
        }
        out += "\n";
        match (self.wrong, self.worst.len()) {
            (0, _) => out += "no mistakes\n",
            (1, 0) => out += "1 image wrong\n",
            (_, 0) => out += &format!("{} images wrong\n", self.wrong),
            (wrong, shown) => {
                let more = if shown < wrong && shown == asked {
                    format!("{shown} of {wrong}; --worst N lists more")
                } else {
                    format!("{wrong} in all")
                };
                out += &format!("most confident mistakes ({more}):\n");
                out += &report::mistake_lines(&self.model.names, self.worst, path);
            }
        }
        out
    }

    fn json(&self, path: &impl Fn(usize) -> String) -> serde_json::Value {
        let worst: Vec<serde_json::Value> = self
            .worst
            .iter()
            .map(|w| {
                let mut value = match &w.wrong {
                    Wrong::Class {
                        label,
                        predicted,
                        label_probability,
                    } => serde_json::json!({
                        "label": self.model.names[*label],
                        "predicted": self.model.names[*predicted],
                        "label_probability": label_probability,
                    }),
                    Wrong::Labels(labels) => serde_json::json!({
                        "labels": labels.iter().map(|&(c, p, present)| serde_json::json!({
                            "label": self.model.names[c], "probability": p, "labelled": present,
                        })).collect::<Vec<_>>(),
                    }),
                };
                value["image"] = path(w.image).into();
                value["confidence"] = w.confidence.into();
                value
            })
            .collect();
        serde_json::json!({
            "model": self.model.trained.args.arch.to_string(),
            "weights": self.model.described,
            "source": self.source,
            "device": self.device,
            "classes": self.model.names,
            "metrics": self.metrics,
            // The macro F1 over the classes with images (metrics.f1_macro is over every class).
            "f1_macro_with_images": self.f1_macro,
            "classes_with_images": self.rows.iter().map(|&c| &self.model.names[c]).collect::<Vec<_>>(),
            "wrong": self.wrong,
            "worst": worst,
        })
    }
}

/// "evaluated 320/1000 images" on a terminal's stderr while the model runs.
struct Progress {
    total: usize,
    shown: bool,
    done: usize,
}

impl Progress {
    fn new(total: usize, shown: bool) -> Self {
        Progress { total, shown, done: 0 }
    }

    fn add(&mut self, n: usize) {
        self.done += n;
        if self.shown {
            eprint!("\revaluated {}/{} images", self.done, self.total);
        }
    }

    fn done(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}
