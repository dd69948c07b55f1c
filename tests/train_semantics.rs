//! The trainer's semantics on a tiny model and real images: freezing, commands, clipping,
//! early stopping, resume.

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;

use burn::module::{Param, RunningState};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use kiln::backend::CpuTrain;
use kiln::config::RunConfig;
use kiln::model::{Arch, BnMode, ResNet, ResNetConfig, TensorVisitor};
use kiln::runlog::{RunDir, read_events};
use kiln::train::command::{Command, Source};
use kiln::train::event::{Event, Record, Status, Summary};
use kiln::train::freeze::FreezeState;
use kiln::train::optim::{Optim, step};
use kiln::train::trainer::{TrainJob, spawn};

#[derive(Default)]
struct Dump(BTreeMap<String, Vec<f32>>);

impl<B: Backend> TensorVisitor<B> for Dump {
    fn param<const D: usize>(&mut self, name: &str, p: &mut Param<Tensor<B, D>>, _: bool) {
        self.0
            .insert(name.into(), p.val().into_data().convert::<f32>().into_vec().unwrap());
    }
    fn buffer(&mut self, name: &str, b: &mut RunningState<Tensor<B, 1>>) {
        self.0
            .insert(name.into(), b.value().into_data().convert::<f32>().into_vec().unwrap());
    }
}

fn dump<B: Backend>(model: &ResNet<B>) -> BTreeMap<String, Vec<f32>> {
    let mut d = Dump::default();
    model.clone().walk_tensors(&mut d);
    d.0
}

fn train_config(extra: &str) -> kiln::config::TrainConfig {
    let dir = tempfile::tempdir().unwrap();
    let text = common::tiny_config(dir.path(), extra);
    RunConfig::from_toml_str_with_sets::<&str>(&text, "test", &[])
        .unwrap()
        .train
}

#[test]
fn frozen_parts_stay_bit_identical_while_the_rest_trains() {
    type B = CpuTrain;
    let device = Default::default();
    let model: ResNet<B> = ResNetConfig::new(Arch::ResNet18, 3).init(&device);
    let mut freeze = FreezeState::new(&model);
    freeze.set("stem", true).unwrap();
    freeze.set("layer1", true).unwrap();
    let mut model = freeze.apply(model);
    let before = dump(&model);
    let mut optim = Optim::<B>::new(&train_config("weight_decay = 0.1"));
    let lrs: BTreeMap<String, f64> = ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
        .iter()
        .map(|g| (g.to_string(), 0.05))
        .collect();
    let x = common::formula::input::<B>([4, 3, 32, 32], &device);
    for _ in 0..3 {
        let modes = freeze.bn_modes(false);
        let logits = model.head(model.features(x.clone(), &modes));
        let loss = logits.square().mean();
        let grads = loss.backward();
        model = step(&mut optim, model, grads, &lrs, 1.0, None).0;
    }
    let after = dump(&model);
    for (name, values) in &before {
        let frozen = name.starts_with("conv1") || name.starts_with("bn1") || name.starts_with("layer1.");
        if frozen {
            assert_eq!(values, &after[name], "frozen {name} changed");
        } else if !name.contains("running") {
            assert_ne!(values, &after[name], "trainable {name} did not change");
        }
    }
    // Training parts update their BatchNorm statistics; frozen ones (checked above) do not.
    assert_ne!(before["layer2.0.bn1.running_mean"], after["layer2.0.bn1.running_mean"]);
    assert_eq!(freeze.bn_modes(false).blocks[0], BnMode::Eval);
}

/// A loss whose gradient for every parameter is 0.1 * formula(name): fixed gradients.
struct FixedGradLoss<B: AutodiffBackend> {
    total: Option<Tensor<B, 1>>,
}

impl<B: AutodiffBackend> TensorVisitor<B> for FixedGradLoss<B> {
    fn param<const D: usize>(&mut self, name: &str, p: &mut Param<Tensor<B, D>>, transposed: bool) {
        let mut shape = p.shape().dims::<D>();
        if transposed {
            shape.reverse();
        }
        let values: Vec<f32> = common::formula::values(name, &shape).iter().map(|v| v * 0.1).collect();
        let c = Tensor::<B, D>::from_data(TensorData::new(values, shape), &p.device());
        let c = if transposed { c.transpose() } else { c };
        let term = (p.val() * c).sum();
        self.total = Some(match self.total.take() {
            Some(t) => t + term,
            None => term,
        });
    }
    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}

/// Also with the loss scaled as f16 training scales it: the step divides the scale out again,
/// so PyTorch's unscaled figures still hold.
#[test]
fn clipping_uses_the_global_norm_like_pytorch() {
    type B = CpuTrain;
    let expected: serde_json::Value = serde_json::from_str(include_str!("fixtures/train/clip.json")).unwrap();
    let cases = [(1.0, "1.0"), (1e6, "1000000.0")]
        .into_iter()
        .flat_map(|case| [(case, None), (case, Some(1024.0))]);
    for ((max_norm, key), loss_scale) in cases {
        let mut model: ResNet<B> = ResNetConfig::new(Arch::ResNet18, 3).init(&Default::default());
        let before = dump(&model);
        let mut loss = FixedGradLoss::<B> { total: None };
        model.walk_tensors(&mut loss);
        let grads = (loss.total.unwrap() * loss_scale.unwrap_or(1.0)).backward();
        // Plain SGD at LR 1: each parameter moves by exactly its clipped gradient.
        let mut optim = Optim::<B>::new(&train_config("momentum = 0.0\nweight_decay = 0.0"));
        let lrs = ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
            .iter()
            .map(|g| (g.to_string(), 1.0))
            .collect();
        let (model, norm, stepped) = step(&mut optim, model, grads, &lrs, max_norm, loss_scale);
        assert!(stepped);
        let torch_norm = expected[key]["total_norm"].as_f64().unwrap();
        assert!(
            (norm - torch_norm).abs() / torch_norm < 1e-5,
            "norm {norm} vs PyTorch {torch_norm} (loss scale {loss_scale:?})"
        );
        let after = dump(&model);
        for tensor in ["fc.bias", "layer2.0.bn1.weight"] {
            let want: Vec<f64> = serde_json::from_value(expected[key][tensor].clone()).unwrap();
            for (i, g) in want.iter().enumerate() {
                let moved = (before[tensor][i] - after[tensor][i]) as f64;
                assert!(
                    (moved - g).abs() < 1e-6,
                    "{tensor}[{i}]: moved {moved}, PyTorch grad {g} (loss scale {loss_scale:?})"
                );
            }
        }
    }
}

/// Starts a run on a tiny real data set; returns its directory and a command sender.
fn start(
    root: &std::path::Path,
    runs: &std::path::Path,
    sets: &[&str],
) -> (RunDir, kiln::train::trainer::TrainerHandle) {
    let text = common::tiny_config(root, "");
    let config = RunConfig::from_toml_str_with_sets(&text, "test", sets).unwrap();
    let dir = RunDir::create(runs, "t").unwrap();
    std::fs::write(dir.config(), config.to_toml_string()).unwrap();
    let handle = spawn(TrainJob {
        config,
        dir: dir.clone(),
        resume: false,
    })
    .unwrap();
    (dir, handle)
}

/// Collects events until the run ends, calling `on_event` for each.
fn drain(
    handle: kiln::train::trainer::TrainerHandle,
    mut on_event: impl FnMut(&Record, &Sender<(Command, Source)>),
) -> (Vec<Record>, Summary) {
    let mut out = Vec::new();
    for record in handle.events.iter() {
        on_event(&record, &handle.commands);
        out.push(record);
    }
    let summary = handle.thread.join().unwrap().unwrap();
    (out, summary)
}

fn steps(records: &[Record]) -> Vec<(u64, BTreeMap<String, f64>)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Step(s) => Some((r.step, s.lr.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_command_takes_effect_at_the_next_step_and_is_logged_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let (dir, handle) = start(&root, &tmp.path().join("runs"), &[]);
    let (records, summary) = drain(handle, |r, tx| {
        if matches!(r.event, Event::Step(_)) && r.step == 2 {
            tx.send((Command::ScaleLr(0.5), Source::Stdin)).unwrap();
        }
    });
    assert_eq!(summary.status, Status::Completed);
    let applied = records
        .iter()
        .find(|r| {
            matches!(
                &r.event,
                Event::Command {
                    command: Command::ScaleLr(_),
                    ..
                }
            )
        })
        .expect("the command was applied");
    assert!(applied.step >= 2, "applied before it was sent");
    for (step, lr) in steps(&records) {
        let want = if step > applied.step { 0.005 } else { 0.01 };
        assert!(
            (lr["layer3"] - want).abs() < 1e-12,
            "step {step}: lr {} (applied at {})",
            lr["layer3"],
            applied.step
        );
    }
    // The log on disk says the same as the stream.
    assert_eq!(read_events(&dir.events()).unwrap(), records);
}

#[test]
fn early_stopping_fires_on_time_and_restores_the_best_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    // No later epoch can beat the first by a whole accuracy point: stop after 1 + patience.
    let sets = [
        "train.epochs=6",
        "train.early_stop_patience=2",
        "train.early_stop_metric=val_accuracy",
        "train.early_stop_min_delta=1.0",
    ];
    let (_, handle) = start(&root, &tmp.path().join("runs"), &sets);
    let (records, summary) = drain(handle, |_, _| {});
    assert_eq!(summary.status, Status::EarlyStopped);
    assert_eq!(summary.epochs_run, 3);
    assert_eq!(summary.best_epoch, Some(1));
    let first = records
        .iter()
        .find_map(|r| match &r.event {
            Event::Epoch(e) if r.epoch == 1 => Some(e.val.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        summary.val.as_ref().unwrap(),
        &first,
        "the final evaluation used epoch 1's weights"
    );
}

#[test]
fn resume_after_stop_continues_at_the_same_step_lr_and_freeze_state() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let sets = [
        "train.epochs=3",
        "train.schedule=cosine",
        "train.min_lr=1e-5",
        "train.freeze=[\"stem\", \"layer1\"]",
    ];
    let (dir, handle) = start(&root, &tmp.path().join("runs"), &sets);
    let (first, summary) = drain(handle, |r, tx| {
        if matches!(r.event, Event::Step(_)) && r.step == 3 {
            tx.send((Command::Unfreeze("layer1".into()), Source::Stdin)).unwrap();
            tx.send((Command::Stop, Source::Stdin)).unwrap();
        }
    });
    assert_eq!(summary.status, Status::Stopped);
    let stopped_at = summary.steps;

    let config = RunConfig::load(dir.config()).unwrap();
    let handle = spawn(TrainJob {
        config,
        dir: dir.clone(),
        resume: true,
    })
    .unwrap();
    let (second, summary) = drain(handle, |_, _| {});
    assert_eq!(summary.status, Status::Completed);
    let started = second
        .iter()
        .find_map(|r| match &r.event {
            Event::Started(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(started.resumed_from_step, Some(stopped_at));
    assert_eq!(started.frozen, ["stem"], "layer1 was unfrozen before the stop");
    let resumed_steps = steps(&second);
    assert_eq!(resumed_steps[0].0, stopped_at + 1, "resume continues the step count");
    // An uninterrupted run with the same unfreeze would use the same LR at that step: the
    // schedule position is restored, not restarted.
    let last_before = steps(&first).last().unwrap().1["layer3"];
    let first_after = resumed_steps[0].1["layer3"];
    assert!(
        first_after <= last_before && first_after > 1e-5,
        "lr jumped: {last_before} -> {first_after}"
    );
    let all = read_events(&dir.events()).unwrap();
    assert_eq!(all.len(), first.len() + second.len(), "resume appends to the same log");
}

#[test]
fn a_resumed_run_still_restores_the_best_epoch_from_before_the_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    // Only epoch 1 can be best: no later epoch gains a whole accuracy point.
    let sets = [
        "train.epochs=3",
        "train.early_stop_metric=val_accuracy",
        "train.early_stop_min_delta=1.0",
    ];
    let (dir, handle) = start(&root, &tmp.path().join("runs"), &sets);
    let (first, summary) = drain(handle, |r, tx| {
        if matches!(r.event, Event::Step(_)) && r.step == 4 {
            tx.send((Command::Stop, Source::Stdin)).unwrap();
        }
    });
    assert_eq!(summary.status, Status::Stopped);
    let epoch1_val = first
        .iter()
        .find_map(|r| match &r.event {
            Event::Epoch(e) if r.epoch == 1 => Some(e.val.clone()),
            _ => None,
        })
        .unwrap();

    let config = RunConfig::load(dir.config()).unwrap();
    let handle = spawn(TrainJob {
        config,
        dir: dir.clone(),
        resume: true,
    })
    .unwrap();
    let (_, summary) = drain(handle, |_, _| {});
    assert_eq!(summary.status, Status::Completed);
    assert_eq!(summary.best_epoch, Some(1));
    assert_eq!(
        summary.val.unwrap(),
        epoch1_val,
        "the final evaluation used epoch 1's weights"
    );
}

/// (epoch, loss, data wait) of every step, and validation loss for an epoch's end (wait -1).
fn step_losses(records: &[Record]) -> Vec<(usize, f64, f64)> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::Step(s) => Some((r.epoch, s.loss, s.data_wait_ms)),
            Event::Epoch(e) => Some((r.epoch, e.val.loss, -1.0)),
            _ => None,
        })
        .collect()
}

/// Runs 4 epochs on the digits with `freeze` frozen and one more stage unfrozen after epoch 2,
/// with the feature cache and without; checks that every step and validation loss agree, and
/// returns, per epoch 1..=4, whether that epoch's steps all ran without loading images.
fn cached_against_plain(freeze: &str) -> Vec<bool> {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    // Both runs start from the same weights file: random init draws from a generator that
    // tests running beside this one share.
    let weights = tmp.path().join("start.safetensors");
    let model = ResNetConfig::new(Arch::ResNet18, 3).init::<CpuTrain>(&Default::default());
    kiln::weights::save_safetensors(&model, &weights, kiln::weights::SaveDtype::F32).unwrap();
    let run = |cache: bool| {
        let sets = [
            format!("model.weights={:?}", weights.display().to_string()),
            format!("train.freeze={freeze}"),
            "train.epochs=4".to_string(),
            "train.unfreeze_every=2".to_string(),
            format!("train.cache_features={cache}"),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let (_, handle) = start(&root, &tmp.path().join(format!("runs-{cache}")), &sets);
        let (records, summary) = drain(handle, |_, _| {});
        assert_eq!(summary.status, Status::Completed);
        step_losses(&records)
    };
    let cached = run(true);
    let plain = run(false);
    assert_eq!(cached.len(), plain.len());
    for ((epoch, a, _), (_, b, _)) in cached.iter().zip(&plain) {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "epoch {epoch}: loss {a} cached vs {b}"
        );
    }
    (1..=4)
        .map(|e| cached.iter().filter(|s| s.0 == e && s.2 >= 0.0).all(|s| s.2 == 0.0))
        .collect()
}

#[test]
fn cached_backbone_features_train_the_head_exactly_as_the_images_do_until_an_unfreeze_drops_them() {
    // layer4 unfreezes after epoch 2: the pooled features go; epoch 3 loads images again and
    // fills a cache of the shorter prefix (stem..layer3) for epoch 4.
    let from_cache = cached_against_plain(r#"["stem","layer1","layer2","layer3","layer4"]"#);
    assert_eq!(from_cache, [false, true, false, true]);
}

#[test]
fn a_cached_frozen_prefix_trains_the_rest_exactly_as_the_images_do_and_follows_an_unfreeze() {
    // layer2 unfreezes after epoch 2: the prefix shrinks to stem + layer1 and gets a new cache.
    let from_cache = cached_against_plain(r#"["stem","layer1","layer2"]"#);
    assert_eq!(from_cache, [false, true, false, true]);
}

#[test]
fn an_unfreeze_in_the_middle_of_a_cached_epoch_hands_the_rest_of_the_epoch_to_the_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = common::tiny_digits(&tmp.path().join("data"), 3, 10);
    let sets = [
        r#"train.freeze=["stem","layer1","layer2"]"#,
        "train.epochs=3",
        // 21 training images: batches of 3 leave no lone image over (which 32 px skips).
        "train.batch_size=3",
        "train.cache_features=true",
    ];
    let (_, handle) = start(&root, &tmp.path().join("runs"), &sets);
    // Epoch 2 runs from the prefix cache. Pause early in it; once the pause has landed (the
    // trainer then waits), unfreeze layer2 (the prefix shrinks, the cache is replaced by an
    // empty one) and resume, so the change lands exactly where the pause did.
    let mut steps_per_epoch = u64::MAX;
    let mut paused_at = None;
    let (records, summary) = drain(handle, |r, tx| match &r.event {
        Event::Started(s) => steps_per_epoch = s.steps_per_epoch as u64,
        Event::Step(_) if r.step == steps_per_epoch + 1 => {
            tx.send((Command::Pause, Source::Stdin)).unwrap();
        }
        Event::Command {
            command: Command::Pause,
            ..
        } => {
            paused_at = Some(r.step);
            tx.send((Command::Unfreeze("layer2".into()), Source::Stdin)).unwrap();
            tx.send((Command::Resume, Source::Stdin)).unwrap();
        }
        _ => {}
    });
    assert_eq!(summary.status, Status::Completed);
    let paused_at = paused_at.expect("the pause was applied");
    assert!(
        paused_at > steps_per_epoch && paused_at < 2 * steps_per_epoch,
        "the pause landed at step {paused_at}, not inside epoch 2 (steps {}..{}): nothing tested",
        steps_per_epoch + 1,
        2 * steps_per_epoch
    );
    // Every batch of every epoch is a step: none of epoch 2's rest is counted off unrun.
    for epoch in 1..=3 {
        let steps = records
            .iter()
            .filter(|r| r.epoch == epoch && matches!(r.event, Event::Step(_)))
            .count() as u64;
        assert_eq!(steps, steps_per_epoch, "epoch {epoch} ran {steps} steps");
    }
}
