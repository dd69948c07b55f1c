//! Everything the loop needs before its first step: data, model, optimizer, state.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;

use super::checkpoint::{self, TrainState};
use super::emitter::Emitter;
use super::epoch_stats::RunningLoss;
use super::event::{Event, GroupInfo, Started};
use super::freeze::FreezeState;
use super::loss::LossFn;
use super::loss_scale::LossScale;
use super::optim::Optim;
use super::schedule::Schedule;
use super::trainer::TrainJob;
use crate::backend::TrainBackend;
use crate::config::{ClassWeights, EarlyStopMetric, LossKind, RunConfig};
use crate::data::{
    ClassCounts, Loader, LoaderConfig, Mode, MultiLabels, Part, Split, Transform, class_warnings, ignored_warning,
    scan_dataset,
};
use crate::model::{GroupKind, ResNet};
use crate::weights::{LoadReport, WeightsSpec, open_model};

/// The trainer's belongings, ready to run.
pub struct Prepared<B: TrainBackend> {
    /// Taken out for each optimizer step (which consumes it) and put back.
    pub model: Option<ResNet<B>>,
    pub optim: Optim<B>,
    pub state: TrainState,
    pub schedule: Schedule,
    pub loss: LossFn<B>,
    pub train: Loader,
    pub val: Loader,
    pub test: Loader,
    pub classes: Vec<String>,
    /// Each image's labels, for a multi-label run (`data.multi_label_csv`).
    pub multi: Option<MultiLabels>,
    pub epoch_loss: RunningLoss,
    pub epoch_started: Instant,
}

impl<B: TrainBackend> Prepared<B> {
    pub fn model(&self) -> anyhow::Result<&ResNet<B>> {
        self.model.as_ref().context("the trainer lost its model")
    }

    /// Parameters that currently train.
    pub fn trainable_params(&self) -> usize {
        let Ok(model) = self.model() else { return 0 };
        model
            .groups()
            .iter()
            .filter(|g| g.kind != GroupKind::Stage)
            .filter(|g| !self.state.freeze.is_frozen(&g.name))
            .map(|g| g.params)
            .sum()
    }
}

pub fn prepare<B: TrainBackend>(
    job: &TrainJob,
    device: &B::Device,
    device_label: &str,
    em: &mut Emitter,
) -> anyhow::Result<Prepared<B>> {
    let config = &job.config;
    let root = &config.data.root;
    let multi = config
        .data
        .multi_label_csv
        .as_ref()
        .map(|csv| MultiLabels::read(csv, root))
        .transpose()?;
    // Warnings about the data, said once when the run starts (a resume's log already has them).
    let mut data_warnings = Vec::new();
    let split = if job.resume && job.dir.split().is_file() {
        // Exactly the images the run started with, whatever changed in the folder since.
        let split = Split::read_manifest(&job.dir.split(), root)?;
        match &multi {
            Some(m) => m.relabel(split, &job.dir.split())?,
            None => split,
        }
    } else {
        let split = match &multi {
            Some(m) => m.split(config.data.split, config.train.seed)?,
            None => {
                let scan = scan_dataset(root)?;
                data_warnings.extend(ignored_warning(root, &scan.ignored));
                Split::from_scan(scan, config.data.split, config.train.seed)?
            }
        };
        split.write_manifest(&job.dir.split(), root)?;
        split
    };
    let classes = split.classes.clone();
    let train_counts = counts(&split, multi.as_ref(), Part::Train);
    if config.train.early_stop_metric == EarlyStopMetric::ValAuc {
        let val_counts = counts(&split, multi.as_ref(), Part::Val);
        super::auc::check_defined(split.val.len(), &val_counts).map_err(anyhow::Error::msg)?;
    }
    if multi.is_none() && !job.resume {
        data_warnings.extend(class_warnings_of(config, &split, &train_counts));
    }
    if split.val.is_empty() && !job.resume {
        data_warnings.push(no_validation_warning(config, split.train.len() + split.test.len()));
    }
    std::fs::write(job.dir.classes(), classes.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", job.dir.classes().display()))?;

    let transform = config.data.transform();
    let seed = config.train.seed;
    let loader = |samples, mode, shuffle| -> anyhow::Result<Loader> {
        let cfg = LoaderConfig {
            batch_size: config.train.batch_size,
            workers: config.data.workers,
            shuffle,
            cache: config.data.cache,
            seed,
            ..LoaderConfig::default()
        };
        Ok(Loader::new(
            samples,
            Transform::new(transform.clone(), mode, seed)?,
            cfg,
        )?)
    };
    let train_mode = if config.data.augment { Mode::Train } else { Mode::Eval };
    let train = loader(split.train.clone(), train_mode, true)?;
    let val = loader(split.val.clone(), Mode::Eval, false)?;
    let test = loader(split.test.clone(), Mode::Eval, false)?;

    B::seed(device, seed);
    let (mut model, report) = open_model::<B>(
        config.model.arch,
        Some(classes.len()),
        config.model.dropout,
        &config.model.weights,
        device,
    )?;
    // A new head is what fine-tuning onto new classes means: said at the start, not warned.
    let weights = weights_line(&config.model.weights, &report, classes.len());

    let mut freeze = FreezeState::new(&model);
    for name in &config.train.freeze {
        freeze.set(name, true)?;
    }
    let base_lr = base_lrs(config);
    let mut state = TrainState::initial(config.train.seed, freeze, base_lr);
    let mut optim = Optim::new(&config.train);

    let mut resumed_from = None;
    if job.resume {
        let last = job.dir.checkpoint("last");
        let dir = checkpoint::find(&last)
            .with_context(|| format!("{} has no checkpoint to resume from", job.dir.path.display()))?;
        state = checkpoint::load_state(&dir)?;
        model = checkpoint::load_model(&dir, model, device)?;
        optim = checkpoint::load_optim(&dir, optim, device)?;
        // A different stream than the first run's start, but the same one on every resume.
        B::seed(device, seed.wrapping_add(state.step));
        resumed_from = Some(state.step);
        em.step = state.step;
        em.epoch = state.epoch;
    }
    let model = state.freeze.apply(model).computing_in(config.train.precision);
    // f16 needs its loss scaled; a resumed f16 run goes on from the scale it had.
    state.loss_scale = LossScale::for_precision(config.train.precision, state.loss_scale);

    let loss = LossFn::new(&config.train, &train_counts, device)?;
    let schedule = config.train.schedule(train.batches_per_epoch());

    let groups: Vec<GroupInfo> = model
        .groups()
        .into_iter()
        .map(|g| GroupInfo {
            kind: format!("{:?}", g.kind).to_lowercase(),
            name: g.name,
            parent: g.parent,
            params: g.params,
        })
        .collect();
    let prepared = Prepared {
        model: Some(model),
        optim,
        state,
        schedule,
        loss,
        train,
        val,
        test,
        classes,
        multi,
        epoch_loss: RunningLoss::default(),
        epoch_started: Instant::now(),
    };
    em.emit(Event::Started(Box::new(Started {
        run_dir: job.dir.path.display().to_string(),
        name: job
            .dir
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model: config.model.arch.to_string(),
        device: device_label.to_string(),
        data_root: root.display().to_string(),
        classes: prepared.classes.clone(),
        groups,
        frozen: prepared.state.freeze.frozen_names(),
        lr: prepared.state.base_lr.clone(),
        train_images: prepared.train.len(),
        val_images: prepared.val.len(),
        test_images: prepared.test.len(),
        skipped_images: 0,
        epochs: config.train.epochs as usize,
        steps_per_epoch: prepared.train.batches_per_epoch(),
        resumed_from_step: resumed_from,
        weights,
        config: config.to_toml_string(),
    })));
    for message in data_warnings {
        em.emit(Event::Warning { message });
    }
    em.emit(Event::FreezeChanged {
        frozen: prepared.state.freeze.frozen_names(),
        trainable_params: prepared.trainable_params(),
    });
    Ok(prepared)
}

/// Images of each class in `part` (multi-label: images carrying each label).
fn counts(split: &Split, multi: Option<&MultiLabels>, part: Part) -> Vec<usize> {
    match multi {
        Some(m) => m.label_counts(split.part(part)),
        None => split.class_counts(part),
    }
}

/// The split's class-count problems ([`class_warnings`]) for a single-label run.
fn class_warnings_of(config: &RunConfig, split: &Split, train: &[usize]) -> Vec<String> {
    let [val, test] = [Part::Val, Part::Test].map(|p| split.class_counts(p));
    let weighted = config.train.class_weights != ClassWeights::None || config.train.loss == LossKind::Focal;
    let counts = ClassCounts {
        classes: &split.classes,
        train,
        val: &val,
        test: &test,
    };
    class_warnings(&counts, weighted)
}

/// Said when the split leaves no validation image (few images, or a zero validation share).
fn no_validation_warning(config: &RunConfig, images: usize) -> String {
    let r = &config.data.split;
    let stopping = if config.train.early_stop_patience > 0 {
        ", and early stopping has nothing to watch"
    } else {
        ""
    };
    format!(
        "no validation images: data.split = {}:{}:{} over {images} images leaves none, so checkpoints/best \
         follows the last epoch{stopping}; add images, or raise the validation share of data.split",
        r.train, r.val, r.test
    )
}

/// Each group's starting learning rate: `train.head_lr` for the head, `train.group_lr` where
/// given, `train.lr` for the rest of the backbone. A block with a `group_lr` entry of its own
/// is a group of its own.
pub fn base_lrs(config: &crate::config::RunConfig) -> BTreeMap<String, f64> {
    let blocks = config
        .train
        .group_lr
        .keys()
        .filter(|g| g.contains('.'))
        .map(String::as_str);
    super::control::LR_GROUPS
        .into_iter()
        .chain(blocks)
        .map(|g| (g.to_string(), config.train.base_lr_for(g)))
        .collect()
}

/// Where the starting weights came from, e.g. "resnet18-fashion.safetensors: 100 tensors,
/// new 10-class fc (the file has no classifier)".
fn weights_line(spec: &WeightsSpec, report: &LoadReport, classes: usize) -> String {
    match (report.loaded, &report.head_reset) {
        (0, _) => format!("{spec}: every layer freshly initialised"),
        (n, Some(why)) => format!("{spec}: {n} tensors, new {classes}-class fc ({why})"),
        (n, None) => format!("{spec}: {n} tensors, fc included"),
    }
}
