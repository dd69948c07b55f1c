//! `kiln bench`: images/s of one model on synthetic inputs, through the trainer's own step
//! (model, loss, optimizer, freezing), so the figure is what training gets.

mod memory;
mod report;

use std::collections::BTreeMap;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

pub use report::Report;

use crate::backend::TrainBackend;
use crate::config::{Precision, TrainConfig};
use crate::device::Selected;
use crate::model::{Arch, BnModes, ResNetConfig};
use crate::train::freeze::FreezeState;
use crate::train::loss::LossFn;
use crate::train::loss_scale::LossScale;
use crate::train::optim::Optim;
use crate::train::step::{StepInput, StepSettings, train_step};
use crate::train::targets::Targets;

/// What part of the network trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every layer trains.
    Full,
    /// Stem, layer1 and layer2 frozen (no gradient, BatchNorm fixed), the rest trains.
    Frozen,
    /// Only the classifier head trains.
    Head,
    /// Inference only.
    Eval,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Frozen => "frozen",
            Mode::Head => "head",
            Mode::Eval => "eval",
        }
    }
}

/// One benchmark's settings.
#[derive(Debug, Clone)]
pub struct Spec {
    pub arch: Arch,
    pub mode: Mode,
    pub batch: usize,
    pub image_size: usize,
    pub classes: usize,
    pub steps: usize,
    pub warmup: usize,
    pub device: Selected,
    pub precision: Precision,
    /// Fold BatchNorm into the frozen prefix's convolutions (as training does).
    pub fold: bool,
}

/// Runs the benchmark on the backend `spec.device` and `spec.precision` name.
pub fn run(spec: &Spec) -> Report {
    crate::with_backend!(spec.device, |device: B| run_on::<B>(spec, &device))
}

fn run_on<B: TrainBackend>(spec: &Spec, device: &B::Device) -> Report {
    B::seed(device, 0);
    let memory = memory::Tracker::start(spec.device);
    let [n, s] = [spec.batch, spec.image_size];
    let images = Tensor::<B, 4>::random([n, 3, s, s], Distribution::Normal(0.0, 1.0), device);
    let labels = Tensor::<B, 1, Int>::random([n], Distribution::Uniform(0.0, spec.classes as f64), device);
    let model = ResNetConfig::new(spec.arch, spec.classes)
        .init::<B>(device)
        .computing_in(spec.precision);
    let mut step_seconds = Vec::with_capacity(spec.steps);
    // Warm-up steps go to stderr as they finish: on a GPU the first ones compile and tune
    // kernels, and how long that takes is worth seeing (stdout stays the result alone).
    let record = |i: usize, secs: f64, timed: &mut Vec<f64>| {
        if i < spec.warmup {
            eprintln!(
                "{} {} batch {}: warm-up step {}/{} took {:.2} s",
                spec.arch,
                spec.mode.as_str(),
                spec.batch,
                i + 1,
                spec.warmup,
                secs
            );
        } else {
            timed.push(secs);
        }
    };
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        // GPU work is queued: wait for it, so each step is timed whole.
        let _ = B::sync(device);
        t.elapsed().as_secs_f64()
    };
    if spec.mode == Mode::Eval {
        // Inference as kiln runs it (validation, test, predict): BatchNorm folded.
        let model = model.valid();
        let folded = model.folded();
        let images = images.inner();
        for i in 0..spec.warmup + spec.steps {
            let secs = time(&mut || {
                let _ = model.forward_folded(&folded, images.clone()).argmax(1).into_data();
            });
            record(i, secs, &mut step_seconds);
            memory.sample();
        }
    } else {
        let mut freeze = FreezeState::new(&model);
        let frozen: &[&str] = match spec.mode {
            Mode::Full | Mode::Eval => &[],
            Mode::Frozen => &["stem", "layer1", "layer2"],
            Mode::Head => &["stem", "layer1", "layer2", "layer3", "layer4"],
        };
        for name in frozen {
            freeze.set(name, true).expect("every ResNet has these groups");
        }
        let mut model = Some(freeze.apply(model));
        let config = TrainConfig::default();
        let mut optim = Optim::<B>::new(&config);
        let loss = LossFn::<B>::new(&config, &vec![1; spec.classes], device).expect("no class weights are given");
        let modes: BnModes = freeze.bn_modes(false);
        let prefix = freeze.folded_prefix(model.as_ref().expect("just built"), !spec.fold);
        let lr: BTreeMap<String, f64> = crate::train::control::LR_GROUPS
            .iter()
            .map(|g| (g.to_string(), 1e-4))
            .collect();
        // f16 scales its loss as training does, skipped steps and all.
        let mut scale = LossScale::for_precision(spec.precision, None);
        let mut settings = StepSettings {
            modes: &modes,
            lr: &lr,
            clip: 0.0,
            prefix: prefix.as_ref(),
            loss_scale: None,
        };
        for i in 0..spec.warmup + spec.steps {
            settings.loss_scale = scale.map(|s| s.scale);
            let secs = time(&mut || {
                let m = model.take().expect("the model is put back after each step");
                let (m, result) = train_step(
                    m,
                    &mut optim,
                    &loss,
                    StepInput::Images(images.clone()),
                    Targets::Classes(labels.clone()),
                    &settings,
                );
                model = Some(m);
                if let Some(scale) = &mut scale {
                    // Diverging at scale 1 would end a training run; the bench only times.
                    scale.after_step(result.applied);
                }
            });
            record(i, secs, &mut step_seconds);
            memory.sample();
        }
    }
    Report::new(spec, &step_seconds, memory.peak_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_runs_the_timed_steps_on_the_cpu() {
        for mode in [Mode::Full, Mode::Frozen, Mode::Head, Mode::Eval] {
            let spec = Spec {
                arch: Arch::ResNet18,
                mode,
                batch: 2,
                image_size: 32,
                classes: 10,
                steps: 2,
                warmup: 1,
                device: Selected::Cpu,
                precision: Precision::F32,
                fold: true,
            };
            let r = run(&spec);
            assert_eq!((r.steps, r.mode, r.batch), (2, mode, 2));
            assert!(r.images_per_second.is_finite() && r.images_per_second > 0.0, "{r:?}");
            assert!(r.images_per_second_min <= r.images_per_second && r.images_per_second <= r.images_per_second_max);
            assert!(r.peak_memory_mb.is_some_and(|m| m > 1.0), "{r:?}");
        }
    }
}
