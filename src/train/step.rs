//! One optimizer step on one batch: forward, loss, backward, clipped per-group update.
//! The trainer and `kiln bench` both call this, so the benchmark times what training runs.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use super::loss::LossFn;
use super::optim::{self, Optim};
use super::targets::Targets;
use crate::backend::TrainBackend;
use crate::model::{BnModes, FoldedPrefix, ResNet, RunningStats};

/// What a step measured.
#[derive(Debug, Clone, Copy)]
pub struct StepResult {
    pub loss: f64,
    /// Images whose top class was the label.
    pub correct: usize,
    /// The global gradient norm before clipping (inf or NaN when the step was skipped).
    pub grad_norm: f64,
    /// Whether the parameters moved: a step whose gradients are not finite (an f16 overflow,
    /// or a diverged run) does not, and its BatchNorm running statistics are put back.
    pub applied: bool,
}

/// The knobs of one step that change between steps.
pub struct StepSettings<'a, B: AutodiffBackend> {
    /// BatchNorm mode of each part (frozen parts keep their statistics).
    pub modes: &'a BnModes,
    /// Learning rate per group.
    pub lr: &'a BTreeMap<String, f64>,
    /// Global-norm threshold (0 = off).
    pub clip: f64,
    /// The frozen prefix, folded, when there is one: it runs outside autodiff.
    pub prefix: Option<&'a FoldedPrefix<B::InnerBackend>>,
    /// What the loss is multiplied by before the backward pass (f16's loss scaling), if anything.
    pub loss_scale: Option<f64>,
}

/// What a step starts from.
pub enum StepInput<B: AutodiffBackend> {
    /// Normalised images `[batch, 3, size, size]`.
    Images(Tensor<B, 4>),
    /// Pooled features of a wholly frozen backbone `[batch, dim]`: only the head runs.
    Features(Tensor<B, 2>),
    /// The output of a frozen prefix (the stem and `start` blocks): the model goes on from
    /// block `start`.
    Activations { x: Tensor<B, 4>, start: usize },
}

/// A folded prefix runs on the inner backend, outside the autodiff graph; other frozen
/// parameters need no gradient, so they record none. The loss and accuracy are read back,
/// which waits for the device.
pub fn train_step<B: TrainBackend>(
    model: ResNet<B>,
    optim: &mut Optim<B>,
    loss_fn: &LossFn<B>,
    input: StepInput<B>,
    targets: Targets<B>,
    settings: &StepSettings<B>,
) -> (ResNet<B>, StepResult) {
    let mut model = model;
    // Pooled features run no BatchNorm: nothing to put back.
    let stats = (!matches!(input, StepInput::Features(_))).then(|| RunningStats::of(&mut model));
    let features = match (input, settings.prefix) {
        (StepInput::Features(features), _) => features,
        (StepInput::Activations { x, start }, _) => model.features_after(x, start, settings.modes),
        (StepInput::Images(images), Some(prefix)) => {
            let x = Tensor::from_inner(prefix.forward(images.inner()));
            model.features_after(x, prefix.blocks(), settings.modes)
        }
        (StepInput::Images(images), None) => model.features(images, settings.modes),
    };
    let logits = model.head(features);
    let correct = targets.correct(logits.clone());
    let loss = loss_fn.of(logits, targets);
    let loss_value = loss.clone().into_scalar().elem::<f64>();
    let grads = match settings.loss_scale {
        Some(scale) => (loss * scale).backward(),
        None => loss.backward(),
    };
    let (mut model, grad_norm, applied) =
        optim::step(optim, model, grads, settings.lr, settings.clip, settings.loss_scale);
    if !applied && let Some(stats) = stats {
        stats.restore(&mut model);
    }
    (
        model,
        StepResult {
            loss: loss_value,
            correct,
            grad_norm,
            applied,
        },
    )
}

#[cfg(test)]
mod tests {
    use burn::module::{AutodiffModule, Param, RunningState};
    use burn::tensor::Distribution;

    use super::*;
    use crate::backend::CpuTrain;
    use crate::config::{OptimizerKind, Precision, TrainConfig};
    use crate::model::{Arch, ResNetConfig, TensorVisitor};
    use crate::train::freeze::FreezeState;

    #[test]
    fn a_folded_prefix_trains_exactly_like_the_unfolded_one() {
        let device = Default::default();
        let model = ResNetConfig::new(Arch::ResNet18, 4).init::<CpuTrain>(&device);
        let mut freeze = FreezeState::new(&model);
        freeze.set("stem", true).unwrap();
        freeze.set("layer1", true).unwrap();
        let model = freeze.apply(model);
        let blocks = freeze.foldable_prefix(false).unwrap();
        let prefix = FoldedPrefix::new(&model.valid(), blocks);
        // Big enough that the training BatchNorms (batch statistics) are well conditioned: with a
        // handful of values per channel they amplify rounding, folded or not.
        let images = Tensor::<CpuTrain, 4>::random([8, 3, 96, 96], Distribution::Normal(0.0, 1.0), &device);
        let targets =
            Tensor::<CpuTrain, 1, Int>::from_data(TensorData::new(vec![0i64, 3, 1, 2, 2, 0, 1, 3], [8]), &device);
        // SGD, so that weights move by lr x gradient: AdamW's first step moves each weight by
        // lr x sign(gradient), and a gradient within rounding of zero may flip sign folded or not
        // (a head weight 0.019 = ~2 lr apart, seen once in CI).
        let config = TrainConfig {
            optimizer: OptimizerKind::Sgd,
            ..TrainConfig::default()
        };
        let loss = LossFn::new(&config, &[1, 1, 1, 1], &device).unwrap();
        let modes = freeze.bn_modes(false);
        let lr: BTreeMap<String, f64> = [("layer2", 1e-2), ("layer3", 1e-2), ("layer4", 1e-2), ("head", 1e-2)]
            .into_iter()
            .map(|(g, v)| (g.to_string(), v))
            .collect();
        let run = |prefix: Option<&FoldedPrefix<_>>| {
            let mut optim = Optim::new(&config);
            let settings = StepSettings {
                modes: &modes,
                lr: &lr,
                clip: 0.0,
                prefix,
                loss_scale: None,
            };
            train_step(
                model.clone(),
                &mut optim,
                &loss,
                StepInput::Images(images.clone()),
                Targets::Classes(targets.clone()),
                &settings,
            )
        };
        let (folded_model, folded) = run(Some(&prefix));
        let (plain_model, plain) = run(None);
        assert!((folded.loss - plain.loss).abs() < 1e-5, "{folded:?} vs {plain:?}");
        let rel = (folded.grad_norm - plain.grad_norm).abs() / plain.grad_norm;
        // Batch-statistics BatchNorm downstream amplifies rounding in the gradient of a randomly
        // initialised network (folding changes rounding, not maths): 1e-4 failed about one run in ten.
        assert!(
            rel < 1e-3,
            "grad norm {} folded vs {} ({rel:e} apart)",
            folded.grad_norm,
            plain.grad_norm
        );
        let fc = |m: &ResNet<CpuTrain>| m.fc.weight.val().inner();
        let diff = (fc(&folded_model) - fc(&plain_model)).abs().max().into_scalar();
        assert!(diff < 1e-5, "head weights differ by {diff} after one step");
        assert!(plain.grad_norm > 0.0);
    }

    #[test]
    fn features_from_the_folded_backbone_give_the_loss_the_images_give() {
        let device = Default::default();
        let model = ResNetConfig::new(Arch::ResNet18, 3).init::<CpuTrain>(&device);
        let mut freeze = FreezeState::new(&model);
        for g in ["stem", "layer1", "layer2", "layer3", "layer4"] {
            freeze.set(g, true).unwrap();
        }
        let model = freeze.apply(model);
        let prefix = FoldedPrefix::new(&model.valid(), freeze.foldable_prefix(false).unwrap());
        assert_eq!(prefix.blocks(), 8);
        let images = Tensor::<CpuTrain, 4>::random([4, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let targets = Tensor::<CpuTrain, 1, Int>::from_data(TensorData::new(vec![0i64, 2, 1, 2], [4]), &device);
        let config = TrainConfig::default();
        let loss = LossFn::new(&config, &[1, 1, 1], &device).unwrap();
        let modes = freeze.bn_modes(false);
        let lr: BTreeMap<String, f64> = [("head".to_string(), 1e-2)].into();
        let settings = StepSettings {
            modes: &modes,
            lr: &lr,
            clip: 0.0,
            prefix: Some(&prefix),
            loss_scale: None,
        };
        let features = model.valid().features_folded(&prefix, images.clone().inner());
        let from_images = train_step(
            model.clone(),
            &mut Optim::new(&config),
            &loss,
            StepInput::Images(images),
            Targets::Classes(targets.clone()),
            &settings,
        )
        .1;
        let from_features = train_step(
            model,
            &mut Optim::new(&config),
            &loss,
            StepInput::Features(Tensor::from_inner(features)),
            Targets::Classes(targets),
            &settings,
        )
        .1;
        assert!(
            (from_images.loss - from_features.loss).abs() < 1e-6,
            "{from_images:?} vs {from_features:?}"
        );
        assert!((from_images.grad_norm - from_features.grad_norm).abs() < 1e-6 * from_images.grad_norm.max(1.0));
    }

    /// A small ResNet-18 and a batch: built once per test (other tests draw from the same
    /// random stream at the same time, so a seed would not rebuild them). 64 px and 8 images,
    /// so that layer4's batch-statistics BatchNorm sees 32 values a channel: with a handful it
    /// amplifies rounding, f16's included.
    fn small_net() -> (ResNet<CpuTrain>, Tensor<CpuTrain, 4>) {
        let device = Default::default();
        let model = ResNetConfig::new(Arch::ResNet18, 3).init::<CpuTrain>(&device);
        let images = Tensor::<CpuTrain, 4>::random([8, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
        (model, images)
    }

    /// One SGD step at lr 0.1 with the convolutions in `precision` and the loss scaled by
    /// `loss_scale`: the step's result and the model after it.
    fn half_step(
        net: &(ResNet<CpuTrain>, Tensor<CpuTrain, 4>),
        precision: Precision,
        loss_scale: Option<f64>,
    ) -> (StepResult, ResNet<CpuTrain>) {
        sgd_step(net, precision, loss_scale, &crate::tui::fixtures::lrs(0.1, 0.1))
    }

    /// One SGD step at each group's rate in `lr`.
    fn sgd_step(
        (model, images): &(ResNet<CpuTrain>, Tensor<CpuTrain, 4>),
        precision: Precision,
        loss_scale: Option<f64>,
        lr: &BTreeMap<String, f64>,
    ) -> (StepResult, ResNet<CpuTrain>) {
        let device = images.device();
        let targets =
            Tensor::<CpuTrain, 1, Int>::from_data(TensorData::new(vec![0i64, 2, 1, 2, 1, 0, 0, 2], [8]), &device);
        let config = TrainConfig {
            optimizer: OptimizerKind::Sgd,
            ..TrainConfig::default()
        };
        let loss = LossFn::new(&config, &[1, 1, 1], &device).unwrap();
        let settings = StepSettings {
            modes: &BnModes::all(crate::model::BnMode::Train),
            lr,
            clip: 0.0,
            prefix: None,
            loss_scale,
        };
        let (model, result) = train_step(
            model.clone().computing_in(precision),
            &mut Optim::new(&config),
            &loss,
            StepInput::Images(images.clone()),
            Targets::Classes(targets),
            &settings,
        );
        (result, model)
    }

    fn head_weights(model: &ResNet<CpuTrain>) -> Vec<f32> {
        model.fc.weight.val().into_data().to_vec::<f32>().unwrap()
    }

    /// Every parameter and running statistic of `model`, by name.
    fn every_tensor(model: &ResNet<CpuTrain>) -> Vec<(String, Vec<f32>)> {
        struct Values(Vec<(String, Vec<f32>)>);
        impl TensorVisitor<CpuTrain> for Values {
            fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<CpuTrain, D>>, _: bool) {
                self.0.push((name.into(), param.val().into_data().to_vec().unwrap()));
            }
            fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<CpuTrain, 1>>) {
                self.0
                    .push((name.into(), state.value_sync().into_data().to_vec().unwrap()));
            }
        }
        let mut values = Values(Vec::new());
        model.clone().walk_tensors(&mut values);
        values.0
    }

    #[test]
    fn an_f16_step_with_a_scaled_loss_moves_the_f32_weights_as_f32_does() {
        let net = small_net();
        let (exact, exact_model) = half_step(&net, Precision::F32, None);
        let (half, half_model) = half_step(&net, Precision::F16, Some(1024.0));
        let (exact_fc, half_fc) = (head_weights(&exact_model), head_weights(&half_model));
        assert!(half.applied && exact.applied);
        assert!(
            (half.loss - exact.loss).abs() < 1e-2 * exact.loss,
            "{half:?} vs {exact:?}"
        );
        assert!(
            (half.grad_norm - exact.grad_norm).abs() < 2e-2 * exact.grad_norm,
            "the gradient norm comes back unscaled: {half:?} vs {exact:?}"
        );
        let before = head_weights(&net.0);
        let moved = exact_fc
            .iter()
            .zip(&before)
            .fold(0f32, |m, (e, b)| m.max((e - b).abs()));
        let diff = half_fc
            .iter()
            .zip(&exact_fc)
            .fold(0f32, |m, (h, e)| m.max((h - e).abs()));
        assert!(moved > 0.0);
        // Seen up to 1 % over many runs; a missed unscale would be 1024x, a wrong half
        // convolution 100 %.
        assert!(
            diff < 5e-2 * moved,
            "head weights {diff} apart after moving up to {moved}"
        );
    }

    #[test]
    fn an_overflowing_f16_step_leaves_every_weight_as_it_was() {
        // 2^40 is far inside f32's range but the gradients reaching the half-precision
        // convolutions overflow f16 (65504): the step must be skipped, not poison the weights.
        let net = small_net();
        let scale = Some(2f64.powi(40));
        let (exact, _) = half_step(&net, Precision::F32, scale);
        assert!(exact.applied && exact.grad_norm.is_finite(), "{exact:?}");
        let (overflowed, after) = half_step(&net, Precision::F16, scale);
        assert!(
            !overflowed.applied && !overflowed.grad_norm.is_finite(),
            "{overflowed:?}"
        );
        assert!(overflowed.loss.is_finite(), "the loss itself is f32: {overflowed:?}");
        assert_eq!(head_weights(&after), head_weights(&net.0));
    }

    #[test]
    fn a_diverged_f32_step_without_a_loss_scale_leaves_every_weight_as_it_was() {
        let (model, images) = small_net();
        let before = every_tensor(&model);
        let poisoned = images.clone().mask_fill(images.clone().greater_elem(2.5), f32::NAN);
        let (diverged, after) = half_step(&(model.clone(), poisoned), Precision::F32, None);
        assert!(diverged.loss.is_nan() && !diverged.applied, "{diverged:?}");
        // The running statistics too: the forward had already moved them to NaN.
        for ((name, was), (_, is)) in before.iter().zip(every_tensor(&after)) {
            assert_eq!(was, &is, "{name} moved");
        }
        let (finite, stepped) = half_step(&(model, images), Precision::F32, None);
        assert!(finite.applied, "{finite:?}");
        let moved = before
            .iter()
            .zip(every_tensor(&stepped))
            .any(|((name, was), (_, is))| name.ends_with("running_mean") && was != &is);
        assert!(moved, "an applied step keeps its running statistics");
    }

    #[test]
    fn a_block_with_a_rate_of_its_own_trains_at_it_and_its_stage_at_the_stages() {
        // Every group still (lr 0) but layer4.1, which train.group_lr gave a rate of its own.
        let mut lr = crate::tui::fixtures::lrs(0.0, 0.0);
        lr.insert("layer4.1".into(), 0.1);
        let net = small_net();
        let before = every_tensor(&net.0);
        let (result, after) = sgd_step(&net, Precision::F32, None, &lr);
        assert!(result.applied, "{result:?}");
        let is_param = |name: &str| !name.ends_with("running_mean") && !name.ends_with("running_var");
        for ((name, was), (_, is)) in before.iter().zip(every_tensor(&after)) {
            if !is_param(name) || name.ends_with("num_batches_tracked") {
                continue;
            }
            let moved = was != &is;
            assert_eq!(moved, name.starts_with("layer4.1."), "{name}");
        }
    }
}
