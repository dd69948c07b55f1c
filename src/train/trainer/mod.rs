//! The trainer thread: owns model, optimizer, device and loaders; takes commands, tells events.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use burn::module::AutodiffModule;
use burn::prelude::*;

use super::advice::{Advisor, Setting};
use super::checkpoint;
use super::command::{Command, Source};
use super::emitter::Emitter;
use super::event::{EpochInfo, Event, Record, Status, StepInfo, Summary};
use super::feature_cache::FeatureCache;
use super::loss_scale::Verdict;
use super::metrics::EvalMetrics;
use super::setup::{self, Prepared};
use super::step::{StepInput, StepResult, StepSettings, train_step};
use super::targets::Targets;
use crate::backend::TrainBackend;
use crate::config::RunConfig;
use crate::model::{BnMode, BnModes, FoldedPrefix, ResNet, stage_side};
use crate::runlog::{RunDir, RunLog};
use crate::telemetry::{GpuProbe, Sampler};

mod cache;
pub(crate) mod skipped;

use skipped::SkippedImages;

/// The images a model is scored on, apart from those it trains on.
#[derive(Clone, Copy)]
enum HeldOut {
    Val,
    Test,
}

/// How often the hardware is sampled (the dashboard's hardware panel wants 1–2 Hz).
const TELEMETRY_INTERVAL: Duration = Duration::from_millis(1000);

/// What the caller keeps: a way in (commands) and a way out (events).
pub struct TrainerHandle {
    pub commands: Sender<(Command, Source)>,
    pub events: Receiver<Record>,
    pub thread: JoinHandle<anyhow::Result<Summary>>,
}

/// A run to start, or to continue from its last checkpoint.
pub struct TrainJob {
    pub config: RunConfig,
    pub dir: RunDir,
    pub resume: bool,
}

/// Starts training on its own thread, on the device and precision the config names.
pub fn spawn(job: TrainJob) -> anyhow::Result<TrainerHandle> {
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (ev_tx, ev_rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("kiln-trainer".into())
        .spawn(move || run(job, cmd_rx, ev_tx))
        .context("cannot start the trainer thread")?;
    Ok(TrainerHandle {
        commands: cmd_tx,
        events: ev_rx,
        thread,
    })
}

fn run(job: TrainJob, commands: Receiver<(Command, Source)>, events: Sender<Record>) -> anyhow::Result<Summary> {
    let log = RunLog::open(&job.dir)?;
    let mut emitter = Emitter::new(log, events);
    // Lives as long as the run; dropped (and joined) before the event channel closes.
    let _sampler = Sampler::start(GpuProbe::new(), TELEMETRY_INTERVAL, emitter.telemetry_sink())
        .context("cannot start the telemetry thread")?;
    let started = Instant::now();
    let precision = job.config.train.precision;
    let result =
        crate::device::select(job.config.train.device, precision, crate::device::Named::Config).and_then(|selected| {
            let label = format!("{selected} {precision}");
            crate::with_backend!(selected, |device: B| {
                setup::prepare::<B>(&job, &device, &label, &mut emitter)
                    .and_then(|prepared| Loop::new(job, prepared, commands, device).run(&mut emitter, started))
            })
        });
    match result {
        Ok(summary) => Ok(summary),
        Err(err) => {
            let summary = Summary {
                status: Status::Failed,
                best_epoch: None,
                epochs_run: emitter.epoch.saturating_sub(1),
                steps: emitter.step,
                val: None,
                test: None,
                images_per_second: 0.0,
                wall_seconds: started.elapsed().as_secs_f64(),
                skipped_images: 0,
                error: Some(format!("{err:#}")),
            };
            emitter.emit(Event::Finished(Box::new(summary)));
            Err(err)
        }
    }
}

/// How the loop is asked to end early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Stop,
    Abort,
}

struct Loop<B: TrainBackend> {
    config: RunConfig,
    dir: RunDir,
    p: Prepared<B>,
    commands: Receiver<(Command, Source)>,
    device: B::Device,
    paused: bool,
    ending: Option<Ending>,
    /// The best weights so far and, when this process measured them, their validation metrics.
    best: Option<(crate::model::ResNet<B::InnerBackend>, Option<EvalMetrics>)>,
    images_seen: u64,
    train_seconds: f64,
    skipped: SkippedImages,
    /// Whether the skipped one-image batch was said (once a run).
    warned_lone_image: bool,
    /// The recipe's advice on early loss swings and over-fitting.
    advisor: Advisor,
    /// The frozen prefix with BatchNorm folded in; rebuilt whenever the freeze map changes.
    prefix: Option<FoldedPrefix<B::InnerBackend>>,
    /// The frozen prefix's output per training image, while augmentation is off (see `cache.rs`).
    features: Option<FeatureCache>,
    /// Pooled features of the validation images, while the whole backbone is frozen.
    val_features: Option<FeatureCache>,
    /// Counts the caches made, so an epoch knows it filled the one still in use.
    cache_generation: u64,
}

impl<B: TrainBackend> Loop<B> {
    fn new(job: TrainJob, p: Prepared<B>, commands: Receiver<(Command, Source)>, device: B::Device) -> Self {
        // A run resumed inside epoch 1 sees only its later batches.
        let first_epoch_whole = !(p.state.epoch == 1 && p.state.batches_done > 0);
        let advisor = Advisor::new(Setting::of(&job.config, p.classes.len(), first_epoch_whole));
        let mut new = Self {
            config: job.config,
            dir: job.dir,
            p,
            commands,
            device,
            paused: false,
            ending: None,
            best: None,
            images_seen: 0,
            train_seconds: 0.0,
            skipped: SkippedImages::default(),
            warned_lone_image: false,
            advisor,
            prefix: None,
            features: None,
            val_features: None,
            cache_generation: 0,
        };
        new.refold();
        new
    }

    /// Folds the frozen prefix as the freeze map now stands (or drops it), and keeps the
    /// feature cache only while the prefix is the whole backbone.
    fn refold(&mut self) {
        let trains = self.config.train.frozen_bn_trains();
        self.prefix = (self.p.model.as_ref()).and_then(|model| self.p.state.freeze.folded_prefix(model, trains));
        self.update_cache();
    }

    fn run(mut self, em: &mut Emitter, started: Instant) -> anyhow::Result<Summary> {
        self.reload_best()?;
        let epochs = self.config.train.epochs as usize;
        em.step = self.p.state.step;
        let first_epoch = self.p.state.epoch;
        let mut finished_epochs = first_epoch - 1;
        let mut early_stopped = false;
        for epoch in first_epoch..=epochs {
            em.epoch = epoch;
            self.p.state.epoch = epoch;
            self.train_epoch(em)?;
            if self.ending == Some(Ending::Abort) {
                break;
            }
            if self.p.state.batches_done < self.p.train.batches_per_epoch() {
                // Stopped mid-epoch: no validation for a partial epoch.
                break;
            }
            finished_epochs = epoch;
            let improved = self.end_epoch(em)?;
            if !improved && self.early_stop_due() {
                early_stopped = true;
                break;
            }
            if self.ending.is_some() {
                break;
            }
        }
        self.finish(em, started, finished_epochs, early_stopped)
    }

    /// A resumed run's best epoch lies before this process: take its weights from
    /// `checkpoints/best`, so they are still the ones restored at the end.
    fn reload_best(&mut self) -> anyhow::Result<()> {
        if self.p.state.best_epoch.is_none() {
            return Ok(());
        }
        if let Some(dir) = checkpoint::find(&self.dir.checkpoint("best")) {
            let model = checkpoint::load_model(&dir, self.p.model()?.clone(), &self.device)?;
            self.best = Some((model.valid(), None));
        }
        Ok(())
    }

    /// The learning rate of each group now: its base times the schedule's factor.
    fn current_lr(&self) -> BTreeMap<String, f64> {
        let steps_per_epoch = self.p.train.batches_per_epoch().max(1);
        let position = (self.p.state.epoch - 1) as f64 + self.p.state.batches_done as f64 / steps_per_epoch as f64;
        self.p
            .state
            .base_lr
            .iter()
            .map(|(g, base)| (g.clone(), self.p.schedule.lr_at(*base, position)))
            .collect()
    }

    fn train_epoch(&mut self, em: &mut Emitter) -> anyhow::Result<()> {
        if self.features.as_ref().is_some_and(FeatureCache::is_complete) && self.train_from_cache(em)? {
            return Ok(());
        }
        self.train_from_loader(em)
    }

    fn train_from_loader(&mut self, em: &mut Emitter) -> anyhow::Result<()> {
        let size = self.config.data.image_size as usize;
        let skip = self.p.state.batches_done;
        // The cache is complete only if this epoch, whole, went into the same cache.
        let filling = (skip == 0).then_some(self.cache_generation);
        let mut last = Instant::now();
        for batch in self.p.train.epoch(self.p.state.epoch as u64).skip(skip) {
            self.poll_commands(em)?;
            if self.ending.is_some() {
                return Ok(());
            }
            self.skipped.note(em, "training", &batch.skipped);
            let n = batch.labels.len();
            if n == 0 {
                // Every image of the batch was unreadable: nothing to learn, but the batch is done.
                self.p.state.batches_done += 1;
                continue;
            }
            let images = Tensor::<B, 4>::from_data(TensorData::new(batch.images, [n, 3, size, size]), &self.device);
            let input = self.fill_cache(images, &batch.indices);
            self.take_step(em, input, &batch.indices, batch.wait, &mut last)?;
        }
        if filling == Some(self.cache_generation)
            && let Some(cache) = &mut self.features
        {
            cache.mark_complete();
        }
        Ok(())
    }

    /// Whether a batch of one image would be normalised to nothing: a training BatchNorm after
    /// a 1x1 output (layer4 at 32 px and below, layer3 too at 16) would see one value a channel
    /// (outputs 0, running variances pulled to 0; PyTorch refuses such a batch). The first
    /// time, it says so.
    fn lone_image_degenerates(&mut self, em: &mut Emitter, modes: &BnModes) -> bool {
        let size = self.config.data.image_size as usize;
        let Some(model) = &self.p.model else { return false };
        let mut block = 0;
        let mut degenerate = false;
        for (stage, blocks) in model.stages().iter().enumerate() {
            let one_pixel = stage_side(size, stage) == 1;
            degenerate |= one_pixel && (block..block + blocks.len()).any(|b| modes.block(b) == BnMode::Train);
            block += blocks.len();
        }
        if degenerate && !self.warned_lone_image {
            self.warned_lone_image = true;
            em.emit(Event::Warning {
                message: format!(
                    "a training batch of one image at {size} px is skipped, and will be whenever one \
                     comes: after a 1x1 output each channel holds a single value, which BatchNorm cannot train on"
                ),
            });
        }
        degenerate
    }

    /// One optimizer step on one batch (`indices`: its images in the training loader), with
    /// its bookkeeping and its `Step` event; a lone image that would train nothing is counted
    /// done instead (here, so batches from the loader and from the feature cache both are).
    fn take_step(
        &mut self,
        em: &mut Emitter,
        input: StepInput<B>,
        indices: &[usize],
        wait: Duration,
        last: &mut Instant,
    ) -> anyhow::Result<()> {
        let n = indices.len();
        let modes = self.p.state.freeze.bn_modes(self.config.train.frozen_bn_trains());
        if n == 1 && self.lone_image_degenerates(em, &modes) {
            self.p.state.batches_done += 1;
            return Ok(());
        }
        let lr = self.current_lr();
        let targets = Targets::of_samples(self.p.train.samples(), indices, self.p.multi.as_ref(), &self.device);
        let model = self.p.model.take().context("the trainer lost its model")?;
        let loss_scale = self.p.state.loss_scale.map(|s| s.scale);
        let settings = StepSettings {
            modes: &modes,
            lr: &lr,
            clip: self.config.train.clip_grad_norm,
            prefix: self.prefix.as_ref(),
            loss_scale,
        };
        let (model, result) = train_step(model, &mut self.p.optim, &self.p.loss, input, targets, &settings);
        self.p.model = Some(model);
        self.p.epoch_loss.add_correct(result.correct);
        self.p.state.step += 1;
        self.p.state.batches_done += 1;
        em.step = self.p.state.step;
        self.rescale(em, &result)?;
        let step_s = last.elapsed().as_secs_f64();
        *last = Instant::now();
        self.images_seen += n as u64;
        self.train_seconds += step_s;
        self.p.epoch_loss.add(result.loss, n);
        em.emit(Event::Step(StepInfo {
            loss: result.loss,
            lr,
            grad_norm: result.grad_norm,
            loss_scale,
            images_per_second: n as f64 / step_s.max(1e-9),
            data_wait_ms: wait.as_secs_f64() * 1000.0,
            step_ms: step_s * 1000.0,
        }));
        if let Some(message) = self.advisor.step(result.loss) {
            em.emit(Event::Warning { message });
        }
        Ok(())
    }

    /// Moves the f16 loss scale after a step, saying so when the step was skipped. Without a
    /// loss scale a skipped step (gradients not finite) has diverged.
    fn rescale(&mut self, em: &mut Emitter, result: &StepResult) -> anyhow::Result<()> {
        let Some(scale) = &mut self.p.state.loss_scale else {
            if result.applied {
                return Ok(());
            }
            let train = &self.config.train;
            let why = format!(
                "the gradients are not finite at step {} (loss {}): training diverged. Lower train.lr \
                 (now {:e}) or train.head_lr (now {:e}) and start again; checkpoints/last keeps the \
                 weights before this step",
                self.p.state.step, result.loss, train.lr, train.head_lr
            );
            return self.stop_diverged(em, why);
        };
        match scale.after_step(result.applied) {
            Verdict::Applied | Verdict::Grew(..) => {}
            Verdict::Skipped(from, to) => em.emit(Event::Warning {
                message: format!(
                    "f16 gradients overflowed at step {}: step skipped, loss scale {from} -> {to}",
                    self.p.state.step
                ),
            }),
            Verdict::Diverged => {
                let why = format!(
                    "f16 gradients are not finite at step {} even with the loss scale at 1 (loss {}): training \
                 diverged or its gradients exceed f16's range; lower train.lr, or use train.precision = \"bf16\" \
                 (f32's range) or \"f32\"",
                    self.p.state.step, result.loss
                );
                return self.stop_diverged(em, why);
            }
        }
        Ok(())
    }

    /// Ends the run over a step that was not applied: the weights are still the last finite
    /// ones, so they go to checkpoints/last before the run fails with `why`.
    fn stop_diverged(&mut self, em: &mut Emitter, why: String) -> anyhow::Result<()> {
        self.save_checkpoint("last", em)?;
        Err(anyhow::anyhow!(why))
    }

    /// Applies every waiting command; while paused, waits for the next one.
    fn poll_commands(&mut self, em: &mut Emitter) -> anyhow::Result<()> {
        loop {
            let next = if self.paused {
                self.commands.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                self.commands.try_recv()
            };
            match next {
                Ok((command, source)) => self.apply(command, source, em)?,
                Err(TryRecvError::Empty) => return Ok(()),
                // Nobody can send commands any more (the front end is gone): carry on unpaused.
                Err(TryRecvError::Disconnected) => {
                    self.paused = false;
                    return Ok(());
                }
            }
            if self.ending.is_some() {
                return Ok(());
            }
        }
    }

    fn apply(&mut self, command: Command, source: Source, em: &mut Emitter) -> anyhow::Result<()> {
        let outcome =
            super::control::apply(&command, &mut self.p.state).map_err(|reason| (command.to_string(), reason));
        match outcome {
            Err((text, reason)) => em.emit(Event::CommandRejected { text, source, reason }),
            Ok(effect) => {
                use super::control::Effect;
                match &effect {
                    Effect::Freeze(_) => {
                        let model = self.p.model.take().context("the trainer lost its model")?;
                        self.p.model = Some(self.p.state.freeze.apply(model));
                        self.refold();
                    }
                    Effect::Pause => self.paused = true,
                    Effect::Resume => self.paused = false,
                    Effect::Stop => self.ending = Some(Ending::Stop),
                    Effect::Abort => self.ending = Some(Ending::Abort),
                    Effect::Lr(_) | Effect::Checkpoint => {}
                }
                em.emit(Event::Command {
                    command: command.clone(),
                    source,
                    detail: effect.describe(),
                });
                match effect {
                    Effect::Freeze(_) => em.emit(Event::FreezeChanged {
                        frozen: self.p.state.freeze.frozen_names(),
                        trainable_params: self.p.trainable_params(),
                    }),
                    Effect::Checkpoint => self.save_checkpoint("last", em)?,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn save_checkpoint(&mut self, which: &str, em: &mut Emitter) -> anyhow::Result<()> {
        let path = self.dir.checkpoint(which);
        let optim = (which == "last").then_some(&self.p.optim);
        checkpoint::save(&path, self.p.model()?, optim, &self.p.state)?;
        em.emit(Event::CheckpointSaved {
            which: which.into(),
            path: path.display().to_string(),
        });
        Ok(())
    }

    /// `model`'s figures on the validation or test images, each unreadable one said once.
    /// `cached`: `model` is the one training, whose frozen backbone's validation features the
    /// cache holds (the best epoch's weights at the end are evaluated without it).
    fn evaluate_on(
        &mut self,
        em: &mut Emitter,
        model: &ResNet<B::InnerBackend>,
        held: HeldOut,
        cached: bool,
    ) -> EvalMetrics {
        let size = self.config.data.image_size as usize;
        let classes = self.p.classes.len();
        let (loader, split) = match held {
            HeldOut::Val => (&self.p.val, "validation"),
            HeldOut::Test => (&self.p.test, "test"),
        };
        let cache = self.val_features.as_mut().filter(|_| cached);
        let (metrics, skipped) = super::evaluate::evaluate(model, loader, size, classes, self.p.multi.as_ref(), cache);
        self.skipped.note(em, split, &skipped);
        metrics
    }

    /// Validation, best-so-far bookkeeping, checkpoints and scheduled unfreezing.
    /// Returns whether the monitored metric improved.
    fn end_epoch(&mut self, em: &mut Emitter) -> anyhow::Result<bool> {
        let epoch_started = self.p.epoch_started;
        let current = self.p.model()?.valid();
        let val = self.evaluate_on(em, &current, HeldOut::Val, true);
        let metric = self.config.train.early_stop_metric.value(&val);
        // Without validation images every epoch is the best so far: `best` follows the last.
        let improved = match self.p.state.best_metric {
            _ if val.samples == 0 => true,
            None => true,
            Some(best) => {
                self.config
                    .train
                    .early_stop_metric
                    .improves(metric, best, self.config.train.early_stop_min_delta)
            }
        };
        let epoch = self.p.state.epoch;
        if improved {
            self.p.state.best_metric = Some(metric);
            self.p.state.best_epoch = Some(epoch);
            self.p.state.epochs_without_improvement = 0;
            self.best = Some((current, Some(val.clone())));
        } else {
            self.p.state.epochs_without_improvement += 1;
        }
        let (train_loss, train_accuracy) = self.p.epoch_loss.take();
        let val_loss = (val.samples > 0).then_some(val.loss);
        let seconds = epoch_started.elapsed().as_secs_f64();
        let patience = self.config.train.early_stop_patience as usize;
        em.emit(Event::Epoch(Box::new(EpochInfo {
            train_loss,
            train_accuracy,
            val,
            lr: self.current_lr(),
            best: improved,
            seconds,
            images_per_second: self.p.train.len() as f64 / seconds.max(1e-9),
            patience_left: (patience > 0).then(|| patience.saturating_sub(self.p.state.epochs_without_improvement)),
        })));
        for message in self.advisor.epoch(epoch, train_loss, val_loss, self.p.state.best_epoch) {
            em.emit(Event::Warning { message });
        }
        // The next epoch starts from its first batch.
        self.p.state.batches_done = 0;
        self.p.state.epoch = epoch + 1;
        self.p.epoch_started = Instant::now();
        let every = self.config.train.unfreeze_every as usize;
        let epochs = self.config.train.epochs as usize;
        if every > 0 && epoch.is_multiple_of(every) && epoch < epochs {
            self.apply(Command::UnfreezeNext, Source::Schedule, em)?;
        }
        if improved {
            self.save_checkpoint("best", em)?;
        }
        // checkpoint_every = 0: only when the run ends (finish() writes that one).
        let ck_every = self.config.train.checkpoint_every as usize;
        if ck_every > 0 && epoch.is_multiple_of(ck_every) && epoch < epochs {
            self.save_checkpoint("last", em)?;
        }
        Ok(improved)
    }

    fn early_stop_due(&self) -> bool {
        let patience = self.config.train.early_stop_patience as usize;
        patience > 0 && self.p.state.epochs_without_improvement >= patience
    }

    fn finish(
        mut self,
        em: &mut Emitter,
        started: Instant,
        epochs_run: usize,
        early_stopped: bool,
    ) -> anyhow::Result<Summary> {
        let status = match (self.ending, early_stopped) {
            (Some(Ending::Abort), _) => Status::Aborted,
            (Some(Ending::Stop), _) => Status::Stopped,
            (None, true) => Status::EarlyStopped,
            (None, false) => Status::Completed,
        };
        let mut val = None;
        let mut test = None;
        if status != Status::Aborted {
            // Where it stopped, so `--resume` can continue.
            self.save_checkpoint("last", em)?;
            let (best, best_val) = match self.best.take() {
                Some(best) => best,
                None => (self.p.model()?.valid(), None),
            };
            // The best epoch's validation was measured when it ended; only recompute it when
            // this process did not see that epoch.
            val = Some(match best_val {
                Some(v) => v,
                None => self.evaluate_on(em, &best, HeldOut::Val, false),
            });
            if !self.p.test.is_empty() {
                test = Some(self.evaluate_on(em, &best, HeldOut::Test, false));
            }
        }
        let summary = Summary {
            status,
            best_epoch: self.p.state.best_epoch,
            epochs_run,
            steps: self.p.state.step,
            val,
            test,
            images_per_second: self.images_seen as f64 / self.train_seconds.max(1e-9),
            wall_seconds: started.elapsed().as_secs_f64(),
            skipped_images: self.skipped.count(),
            error: None,
        };
        em.emit(Event::Finished(Box::new(summary.clone())));
        Ok(summary)
    }
}
