//! Losses with PyTorch's semantics: cross-entropy (class weights, label smoothing), focal loss,
//! binary cross-entropy with logits, and sklearn-style "balanced" class weights.
//!
//! Every loss returns the mean as a one-element tensor, ready for `backward()`.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::targets::Targets;
use crate::config::{ClassWeights, ConfigError, LossKind, TrainConfig};

/// `torch.nn.functional.cross_entropy(logits, targets, weight, label_smoothing=ε)`, mean
/// reduction. With `w` the class weights (1 when `None`), `C` classes and `lp = log_softmax`:
///
/// `(1 - ε) * Σᵢ w[yᵢ]·(-lp[i, yᵢ]) / Σᵢ w[yᵢ]  +  (ε / C) * Σᵢ Σ_c w[c]·(-lp[i, c]) / Σᵢ w[yᵢ]`
///
/// i.e. the weighted mean divides by the summed weights of the targets, and the smoothing term
/// is weighted per class and divided by the same sum, as PyTorch does.
pub fn cross_entropy<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    weights: Option<Tensor<B, 1>>,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let [n, classes] = logits.dims();
    let lp = log_softmax(logits, 1);
    let picked = lp.clone().gather(1, targets.clone().reshape([n, 1])).reshape([n]);
    let eps = label_smoothing;
    match weights {
        None => {
            let nll = picked.neg().mean();
            if eps == 0.0 {
                return nll;
            }
            let smooth = lp.sum_dim(1).reshape([n]).neg().mean();
            nll.mul_scalar(1.0 - eps) + smooth.mul_scalar(eps / classes as f64)
        }
        Some(w) => {
            let wt = w.clone().select(0, targets);
            let denom = wt.clone().sum();
            let nll = (picked * wt).neg().sum() / denom.clone();
            if eps == 0.0 {
                return nll;
            }
            let smooth = (lp * w.reshape([1, classes])).sum().neg() / denom;
            nll.mul_scalar(1.0 - eps) + smooth.mul_scalar(eps / classes as f64)
        }
    }
}

/// Multi-class focal loss (Lin et al. 2017): `-(1 - p_t)^γ · log p_t` per sample, with
/// `p_t` the softmax probability of the true class. Mean over samples; with class weights it
/// is the weighted mean (divided by the summed target weights), so `γ = 0` gives exactly
/// `cross_entropy` with the same weights.
pub fn focal_loss<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    gamma: f64,
    weights: Option<Tensor<B, 1>>,
) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    let lp = log_softmax(logits, 1);
    let log_pt = lp.gather(1, targets.clone().reshape([n, 1])).reshape([n]);
    let mut per_sample = log_pt.clone().neg();
    if gamma != 0.0 {
        // Clamped away from 0 so a fractional γ has a finite gradient when p_t rounds to 1
        // (where -log p_t is 0 anyway).
        let modulator = log_pt.exp().neg().add_scalar(1.0).clamp_min(1e-12).powf_scalar(gamma);
        per_sample = per_sample * modulator;
    }
    match weights {
        None => per_sample.mean(),
        Some(w) => {
            let wt = w.select(0, targets);
            (per_sample * wt.clone()).sum() / wt.sum()
        }
    }
}

/// `torch.nn.functional.binary_cross_entropy_with_logits`, mean over every element, computed
/// as `max(x, 0) - x·t + log(1 + exp(-|x|))` so large logits neither overflow nor lose digits.
/// `targets` are in [0, 1] (multi-hot, or soft).
pub fn bce_with_logits<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
    let softplus_neg_abs = logits.clone().abs().neg().exp().log1p();
    (logits.clone().clamp_min(0.0) - logits * targets + softplus_neg_abs).mean()
}

/// sklearn's `compute_class_weight("balanced")`: `n_samples / (n_classes * count)`.
/// A class with no samples (sklearn refuses those) gets weight 0 and is left out of
/// `n_classes`, so the other classes get the weights they would have without it.
pub fn class_weights_auto(counts: &[usize]) -> Vec<f32> {
    let total: usize = counts.iter().sum();
    let k = counts.iter().filter(|&&c| c > 0).count();
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (total as f64 / (k as f64 * c as f64)) as f32
            }
        })
        .collect()
}

/// The training loss a config asks for, with its class weights resolved and on the device.
#[derive(Debug, Clone)]
pub struct LossFn<B: Backend> {
    kind: LossKind,
    label_smoothing: f64,
    focal_gamma: f64,
    classes: usize,
    weights: Option<Vec<f32>>,
    weights_tensor: Option<Tensor<B, 1>>,
}

impl<B: Backend> LossFn<B> {
    /// `train_counts`: images per class in the training split (for `class_weights = "auto"`,
    /// and the number of classes). Fails when a given weight list has the wrong length.
    pub fn new(cfg: &TrainConfig, train_counts: &[usize], device: &B::Device) -> Result<LossFn<B>, ConfigError> {
        let classes = train_counts.len();
        let weights = match &cfg.class_weights {
            ClassWeights::None => None,
            ClassWeights::Auto => Some(class_weights_auto(train_counts)),
            ClassWeights::Given(w) => {
                if w.len() != classes {
                    return Err(ConfigError::Invalid {
                        origin: String::new(),
                        key: "train.class_weights".into(),
                        message: format!(
                            "has {} weights but the data set has {classes} classes; give one per class (in sorted \
                             class-name order) or use \"auto\"",
                            w.len()
                        ),
                    });
                }
                Some(w.iter().map(|&x| x as f32).collect())
            }
        };
        let weights_tensor = weights
            .as_ref()
            .map(|w| Tensor::<B, 1>::from_data(TensorData::new(w.clone(), [w.len()]), device));
        Ok(LossFn {
            kind: cfg.loss,
            label_smoothing: cfg.label_smoothing,
            focal_gamma: cfg.focal_gamma,
            classes,
            weights,
            weights_tensor,
        })
    }

    /// The class weights in use, if any (for the run log).
    pub fn weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }

    pub fn kind(&self) -> LossKind {
        self.kind
    }

    /// The loss of a batch with one label per image. For `bce` the labels become one-hot
    /// targets.
    pub fn compute(&self, logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        match self.kind {
            LossKind::Ce => cross_entropy(logits, targets, self.weights_tensor.clone(), self.label_smoothing),
            LossKind::Focal => focal_loss(logits, targets, self.focal_gamma, self.weights_tensor.clone()),
            LossKind::Bce => {
                let [_, c] = logits.dims();
                let one_hot: Tensor<B, 2, Int> = targets.one_hot(c.max(self.classes));
                bce_with_logits(logits, one_hot.float())
            }
        }
    }

    /// The loss of a batch with multi-hot targets `[batch, classes]` (multi-label data; `bce`).
    pub fn compute_multi_label(&self, logits: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
        bce_with_logits(logits, targets)
    }

    /// The loss of a batch, whichever kind of targets it has.
    pub fn of(&self, logits: Tensor<B, 2>, targets: Targets<B>) -> Tensor<B, 1> {
        match targets {
            Targets::Classes(t) => self.compute(logits, t),
            Targets::MultiHot(t) => self.compute_multi_label(logits, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::backend::Autodiff;

    #[derive(serde::Deserialize)]
    struct Fixture {
        logits: Vec<Vec<f32>>,
        targets: Vec<i64>,
        weights: Vec<f32>,
        ce: Vec<CeCase>,
        focal: Vec<FocalCase>,
        bce: BceCase,
        class_weights_auto: AutoCase,
    }
    #[derive(serde::Deserialize)]
    struct CeCase {
        weighted: bool,
        label_smoothing: f64,
        loss: f64,
    }
    #[derive(serde::Deserialize)]
    struct FocalCase {
        weighted: bool,
        gamma: f64,
        loss: f64,
    }
    #[derive(serde::Deserialize)]
    struct BceCase {
        logits: Vec<Vec<f32>>,
        targets: Vec<Vec<f32>>,
        loss: f64,
    }
    #[derive(serde::Deserialize)]
    struct AutoCase {
        counts: Vec<usize>,
        weights: Vec<f64>,
    }

    fn fixture() -> Fixture {
        serde_json::from_str(include_str!("../../tests/fixtures/train/loss.json")).unwrap()
    }

    fn mat<B: Backend>(rows: &[Vec<f32>]) -> Tensor<B, 2> {
        let (n, c) = (rows.len(), rows[0].len());
        Tensor::from_data(TensorData::new(rows.concat(), [n, c]), &Default::default())
    }

    fn ints<B: Backend>(v: &[i64]) -> Tensor<B, 1, Int> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    fn vec1<B: Backend>(v: &[f32]) -> Tensor<B, 1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
        assert_eq!(t.dims(), [1]);
        t.into_scalar().elem::<f64>()
    }

    fn assert_close(got: f64, want: f64, what: &str) {
        let tol = 1e-5 * want.abs().max(1.0);
        assert!((got - want).abs() <= tol, "{what}: got {got}, torch {want}");
    }

    #[test]
    fn cross_entropy_matches_pytorch() {
        let f = fixture();
        assert_eq!(f.ce.len(), 6);
        for c in &f.ce {
            let w = c.weighted.then(|| vec1::<Cpu>(&f.weights));
            let got = scalar(cross_entropy(
                mat::<Cpu>(&f.logits),
                ints(&f.targets),
                w,
                c.label_smoothing,
            ));
            assert_close(
                got,
                c.loss,
                &format!("ce weighted={} ε={}", c.weighted, c.label_smoothing),
            );
        }
    }

    #[test]
    fn focal_matches_reference_and_reduces_to_ce() {
        let f = fixture();
        for c in &f.focal {
            let w = c.weighted.then(|| vec1::<Cpu>(&f.weights));
            let got = scalar(focal_loss(mat::<Cpu>(&f.logits), ints(&f.targets), c.gamma, w));
            assert_close(got, c.loss, &format!("focal weighted={} γ={}", c.weighted, c.gamma));
        }
        let ce = scalar(cross_entropy(
            mat::<Cpu>(&f.logits),
            ints(&f.targets),
            Some(vec1(&f.weights)),
            0.0,
        ));
        let fo = scalar(focal_loss(
            mat::<Cpu>(&f.logits),
            ints(&f.targets),
            0.0,
            Some(vec1(&f.weights)),
        ));
        assert_close(fo, ce, "focal γ=0 vs weighted ce");
        let fo2 = scalar(focal_loss(mat::<Cpu>(&f.logits), ints(&f.targets), 2.0, None));
        assert!(fo2 < ce, "focusing lowers the loss of easy samples");
    }

    #[test]
    fn bce_matches_pytorch_and_is_stable() {
        let f = fixture();
        let got = scalar(bce_with_logits(mat::<Cpu>(&f.bce.logits), mat::<Cpu>(&f.bce.targets)));
        assert_close(got, f.bce.loss, "bce");
        let huge = scalar(bce_with_logits(
            mat::<Cpu>(&[vec![1000.0, -1000.0]]),
            mat::<Cpu>(&[vec![1.0, 0.0]]),
        ));
        assert_eq!(huge, 0.0);
    }

    #[test]
    fn class_weights_auto_is_sklearn_balanced() {
        let f = fixture();
        let got = class_weights_auto(&f.class_weights_auto.counts);
        for (g, w) in got.iter().zip(&f.class_weights_auto.weights) {
            assert_close(f64::from(*g), *w, "balanced weight");
        }
        assert_eq!(class_weights_auto(&[5, 0, 15]), vec![2.0, 0.0, 2.0 / 3.0]);
    }

    #[test]
    fn gradients_are_finite_at_extreme_logits() {
        type A = Autodiff<Cpu>;
        let f = fixture();
        for gamma in [0.5, 2.0] {
            let x: Tensor<A, 2> = mat::<A>(&f.logits).require_grad();
            let loss = focal_loss(x.clone(), ints(&f.targets), gamma, Some(vec1(&f.weights)));
            let grads = loss.backward();
            let g = x.grad(&grads).expect("logits have a gradient");
            let v = g.into_data().convert::<f32>().into_vec::<f32>().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "γ={gamma}: {v:?}");
        }
        let x: Tensor<A, 2> = mat::<A>(&f.logits).require_grad();
        let grads = cross_entropy(x.clone(), ints(&f.targets), None, 0.1).backward();
        let g = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap();
        assert!(g.iter().all(|x| x.is_finite()));
        // d(mean CE)/d logits rows sum to 0.
        for row in g.chunks(4) {
            assert!(row.iter().sum::<f32>().abs() < 1e-6, "{row:?}");
        }
    }

    #[test]
    fn loss_fn_follows_the_config() {
        let f = fixture();
        let dev = Default::default();
        let counts = [10, 20, 70, 5];
        let mut cfg = TrainConfig {
            label_smoothing: 0.1,
            ..TrainConfig::default()
        };
        let lf = LossFn::<Cpu>::new(&cfg, &counts, &dev).unwrap();
        assert!(lf.weights().is_none());
        let want =
            f.ce.iter()
                .find(|c| !c.weighted && c.label_smoothing == 0.1)
                .unwrap()
                .loss;
        assert_close(scalar(lf.compute(mat(&f.logits), ints(&f.targets))), want, "LossFn ce");

        cfg.label_smoothing = 0.0;
        cfg.loss = LossKind::Focal;
        cfg.class_weights = ClassWeights::Given(f.weights.iter().map(|&x| f64::from(x)).collect());
        let lf = LossFn::<Cpu>::new(&cfg, &counts, &dev).unwrap();
        let want = f.focal.iter().find(|c| c.weighted && c.gamma == 2.0).unwrap().loss;
        assert_close(
            scalar(lf.compute(mat(&f.logits), ints(&f.targets))),
            want,
            "LossFn focal",
        );

        cfg.class_weights = ClassWeights::Given(vec![1.0, 2.0]);
        let e = LossFn::<Cpu>::new(&cfg, &counts, &dev).unwrap_err();
        assert!(
            e.to_string().contains("has 2 weights but the data set has 4 classes"),
            "{e}"
        );

        cfg.class_weights = ClassWeights::Auto;
        let lf = LossFn::<Cpu>::new(&cfg, &counts, &dev).unwrap();
        assert_eq!(lf.weights().unwrap().len(), 4);

        cfg.class_weights = ClassWeights::None;
        cfg.loss = LossKind::Bce;
        let lf = LossFn::<Cpu>::new(&cfg, &counts, &dev).unwrap();
        let onehot: Vec<Vec<f32>> = f
            .targets
            .iter()
            .map(|&t| (0..4).map(|c| if c == t { 1.0 } else { 0.0 }).collect())
            .collect();
        let want = scalar(bce_with_logits(mat::<Cpu>(&f.logits), mat::<Cpu>(&onehot)));
        assert_close(scalar(lf.compute(mat(&f.logits), ints(&f.targets))), want, "LossFn bce");
    }
}
