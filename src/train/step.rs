//! One optimizer step on one batch: forward, loss, backward, clipped per-group update.
//! The trainer and `kiln bench` both call this, so the benchmark times what training runs.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use super::loss::LossFn;
use super::optim::{self, Optim};
use super::targets::Targets;
use crate::backend::TrainBackend;
use crate::model::{BnModes, FoldedPrefix, ResNet};

/// What a step measured.
#[derive(Debug, Clone, Copy)]
pub struct StepResult {
    pub loss: f64,
    /// Images whose top class was the label.
    pub correct: usize,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
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
    let grads = loss.backward();
    let (model, grad_norm) = optim::step(optim, model, grads, settings.lr, settings.clip);
    (
        model,
        StepResult {
            loss: loss_value,
            correct,
            grad_norm,
        },
    )
}

#[cfg(test)]
mod tests {
    use burn::module::AutodiffModule;
    use burn::tensor::Distribution;

    use super::*;
    use crate::backend::CpuTrain;
    use crate::config::{OptimizerKind, TrainConfig};
    use crate::model::{Arch, ResNetConfig};
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
}
