//! The recipe's advice for watching a run, said when the losses show it: a loss that swings up
//! in the first steps (the learning rate is too high: lower it, warm up), a training loss that
//! hardly falls in the first two epochs (slow convergence: raise the learning rate, check the
//! normalisation), and validation loss rising while training loss falls (over-fitting: augment
//! more, add dropout, stop early). Each is said once a run. Plain arithmetic over the losses,
//! so it is tested on its own.

use crate::config::LossKind;
use crate::data::{IMAGENET_MEAN, IMAGENET_STD};
use crate::weights::WeightsSpec;

/// Early swings are looked for in this many first steps (of this process).
const EARLY_STEPS: usize = 50;
/// Steps averaged, so one noisy batch is not a swing.
const SWING_WINDOW: usize = 3;
/// A swing: the window's mean loss this many times the first step's.
const SWING_FACTOR: f64 = 2.0;
/// Over-fitting: validation loss up and training loss down this many epochs running.
const OVERFIT_EPOCHS: usize = 2;
/// Slow: epoch 2's training loss above this share of epoch 1's (the quickstart at lr 1e-5
/// measured 2.53 then 2.45, 97 %; at its own lr 1.05 then 0.26)...
const SLOW_SHARE: f64 = 0.9;
/// ...while still above this share of a guess's loss: a model that starts good has little
/// left to fall.
const SLOW_CHANCE_SHARE: f64 = 0.5;
/// Over-fitting is said only below this share of a guess's loss: a model still at a guess
/// has learned nothing to over-fit (the quickstart at lr 1e-5 sat at 2.43 against 2.30 while
/// its validation loss drifted up).
const LEARNED_SHARE: f64 = 0.9;

#[derive(Debug)]
pub struct Advisor {
    setting: Setting,
    steps: Vec<f64>,
    said_swing: bool,
    /// (epoch, training loss, validation loss) of each epoch with validation images.
    epochs: Vec<(usize, f64, f64)>,
    said_overfit: bool,
    /// Epoch 1's training loss, when this process trained it.
    first_epoch_loss: Option<f64>,
}

/// How the run is set up, for advice that names what to change.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub warmup_epochs: u32,
    pub dropout: f64,
    pub early_stop_patience: u32,
    pub augment: bool,
    /// The training loss of a guess ([`chance_loss`]).
    pub chance_loss: f64,
    /// `data.mean` and `data.std` where they are not ImageNet's, and whether the weights are
    /// known to be ImageNet's (a file's may be).
    pub own_normalisation: Option<([f32; 3], [f32; 3], bool)>,
    /// Epoch 1 is trained whole by this process (not resumed part-way), so its loss compares.
    pub first_epoch_whole: bool,
}

/// The training loss of a model that guesses: uniform over `classes` for cross-entropy,
/// weighted down by `(1 - 1/classes)^gamma` for focal loss, 50 % a label for BCE.
pub fn chance_loss(loss: LossKind, focal_gamma: f64, classes: usize) -> f64 {
    let k = classes.max(2) as f64;
    match loss {
        LossKind::Ce => k.ln(),
        LossKind::Focal => (1.0 - 1.0 / k).powf(focal_gamma) * k.ln(),
        LossKind::Bce => std::f64::consts::LN_2,
    }
}

impl Setting {
    /// `first_epoch_whole`: this process trains epoch 1 from its first batch.
    pub fn of(config: &crate::config::RunConfig, classes: usize, first_epoch_whole: bool) -> Self {
        let (data, train) = (&config.data, &config.train);
        let imagenet = data.mean == IMAGENET_MEAN && data.std == IMAGENET_STD;
        let weights = &config.model.weights;
        Setting {
            warmup_epochs: train.warmup_epochs,
            dropout: config.model.dropout,
            early_stop_patience: train.early_stop_patience,
            augment: data.augment,
            chance_loss: chance_loss(train.loss, train.focal_gamma, classes),
            own_normalisation: (*weights != WeightsSpec::None && !imagenet).then_some((
                data.mean,
                data.std,
                *weights == WeightsSpec::ImageNet,
            )),
            first_epoch_whole,
        }
    }
}

impl Advisor {
    pub fn new(setting: Setting) -> Self {
        Advisor {
            setting,
            steps: Vec::new(),
            said_swing: false,
            epochs: Vec::new(),
            said_overfit: false,
            first_epoch_loss: None,
        }
    }

    /// One training step's loss; the advice to give, if it is time for some.
    pub fn step(&mut self, loss: f64) -> Option<String> {
        if self.said_swing || self.steps.len() >= EARLY_STEPS || !loss.is_finite() {
            return None;
        }
        self.steps.push(loss);
        let n = self.steps.len();
        if n <= SWING_WINDOW {
            return None;
        }
        let first = self.steps[0];
        let window = &self.steps[n - SWING_WINDOW..];
        let mean = window.iter().sum::<f64>() / SWING_WINDOW as f64;
        if mean <= SWING_FACTOR * first {
            return None;
        }
        self.said_swing = true;
        let warm_up = if self.setting.warmup_epochs == 0 {
            ", or warm up next time (train.warmup_epochs = 1)"
        } else {
            ""
        };
        Some(format!(
            "the loss swings up early: {mean:.2} over steps {}-{n} against {first:.2} at step 1, so the \
             learning rate is likely too high. Lower it now (- in the dashboard, or `lr /2` typed, halves every rate){warm_up}; \
             `kiln lr-find CONFIG` suggests one",
            n - SWING_WINDOW + 1
        ))
    }

    /// One epoch's training and validation loss (`None` without validation images); the advice
    /// it calls for.
    pub fn epoch(
        &mut self,
        epoch: usize,
        train_loss: f64,
        val_loss: Option<f64>,
        best_epoch: Option<usize>,
    ) -> Vec<String> {
        let slow = self.slow(epoch, train_loss);
        slow.into_iter()
            .chain(self.overfit(epoch, train_loss, val_loss, best_epoch))
            .collect()
    }

    /// Slow convergence: epoch 2's training loss still near epoch 1's and near a guess's. Not
    /// said after the swing advice (a rate far too high can settle at a guess's loss), nor
    /// while a warm-up of two epochs or more is still raising the rate.
    fn slow(&mut self, epoch: usize, train_loss: f64) -> Option<String> {
        let setting = self.setting;
        if epoch == 1 && setting.first_epoch_whole {
            self.first_epoch_loss = Some(train_loss).filter(|l| l.is_finite());
        }
        let first = self.first_epoch_loss.filter(|_| epoch == 2)?;
        let chance = setting.chance_loss;
        let slow = train_loss > SLOW_SHARE * first && train_loss > SLOW_CHANCE_SHARE * chance;
        if !slow || self.said_swing || setting.warmup_epochs >= 2 {
            return None;
        }
        let normalisation = match setting.own_normalisation {
            Some((mean, std, imagenet)) => format!(
                ". Check data.mean and data.std too: this run uses mean {mean:?}, std {std:?}, while {} \
                 ImageNet's {IMAGENET_MEAN:?}, {IMAGENET_STD:?}",
                if imagenet {
                    "ImageNet weights expect"
                } else {
                    "weights pretrained on ImageNet expect"
                }
            ),
            None => String::new(),
        };
        Some(format!(
            "slow convergence: training loss {first:.3} → {train_loss:.3} over epochs 1-2, against {chance:.3} for a \
             guess, so the learning rate is likely too low. Raise it now (+ in the dashboard, or `lr *2` typed, \
             doubles every rate), or let `kiln lr-find CONFIG` suggest one{normalisation}"
        ))
    }

    /// Over-fitting: validation loss up and training loss down [`OVERFIT_EPOCHS`] running.
    fn overfit(
        &mut self,
        epoch: usize,
        train_loss: f64,
        val_loss: Option<f64>,
        best_epoch: Option<usize>,
    ) -> Option<String> {
        let val_loss = val_loss.filter(|v| v.is_finite())?;
        self.epochs.push((epoch, train_loss, val_loss));
        if self.said_overfit || self.epochs.len() <= OVERFIT_EPOCHS {
            return None;
        }
        let recent = &self.epochs[self.epochs.len() - OVERFIT_EPOCHS - 1..];
        let diverging = recent.windows(2).all(|w| w[1].2 > w[0].2 && w[1].1 < w[0].1);
        let learned = train_loss < LEARNED_SHARE * self.setting.chance_loss;
        if !diverging || !learned {
            return None;
        }
        self.said_overfit = true;
        let losses = |pick: fn(&(usize, f64, f64)) -> f64| {
            recent
                .iter()
                .map(|e| format!("{:.3}", pick(e)))
                .collect::<Vec<_>>()
                .join(" → ")
        };
        let setting = &self.setting;
        let mut remedies = Vec::new();
        if !setting.augment {
            remedies.push("data.augment = true".to_string());
        }
        if setting.dropout == 0.0 {
            remedies.push("model.dropout = 0.5".to_string());
        }
        if setting.early_stop_patience == 0 {
            remedies.push("train.early_stop_patience = 3".to_string());
        }
        let remedies = match remedies.is_empty() {
            true => "more data or stronger augmentation ([data.augmentation])".to_string(),
            false => remedies.join(", "),
        };
        let best = best_epoch
            .map(|b| format!("; checkpoints/best keeps epoch {b}"))
            .unwrap_or_default();
        Some(format!(
            "over-fitting: validation loss rose {OVERFIT_EPOCHS} epochs running ({}) while training loss \
             fell ({}). Next time try {remedies}{best}",
            losses(|e| e.2),
            losses(|e| e.1),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Setting = Setting {
        warmup_epochs: 0,
        dropout: 0.0,
        early_stop_patience: 0,
        augment: true,
        chance_loss: std::f64::consts::LN_10,
        own_normalisation: None,
        first_epoch_whole: true,
    };

    fn at_most_one(mut said: Vec<String>) -> Option<String> {
        assert!(said.len() <= 1, "{said:?}");
        said.pop()
    }

    fn steps(losses: &[f64]) -> Vec<String> {
        let mut advisor = Advisor::new(PLAIN);
        losses.iter().filter_map(|&l| advisor.step(l)).collect()
    }

    #[test]
    fn a_loss_that_climbs_early_is_said_once_and_a_falling_or_noisy_one_is_not() {
        // The quickstart at lr 3e-2 (measured): 2.52, then 12.5, 10.1, 7.2.
        let said = steps(&[2.52, 12.53, 10.13, 7.16, 4.12, 3.16, 14.0, 15.0, 16.0]);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("the loss swings up early: 9.94 over steps 2-4 against 2.52"),
            "{}",
            said[0]
        );
        assert!(said[0].contains("train.warmup_epochs = 1"), "{}", said[0]);
        // The quickstart at its own lr, and a noisy run with one bad batch.
        assert!(steps(&[2.52, 1.83, 1.50, 1.38, 1.10, 0.88, 0.68]).is_empty());
        assert!(steps(&[1.1, 1.3, 2.9, 1.0, 1.2, 1.1, 1.4]).is_empty());
        // After the first steps a rise is the schedule's or the data's business, not this.
        let mut late = vec![1.0; EARLY_STEPS];
        late.extend([5.0, 5.0, 5.0, 5.0]);
        assert!(steps(&late).is_empty());
    }

    #[test]
    fn over_fitting_is_two_epochs_of_validation_loss_up_and_training_loss_down() {
        let mut advisor = Advisor::new(PLAIN);
        let mut epoch = |e, train, val: Option<f64>| at_most_one(advisor.epoch(e, train, val, Some(2)));
        assert_eq!(epoch(1, 0.9, Some(0.60)), None);
        assert_eq!(epoch(2, 0.5, Some(0.40)), None);
        // One epoch up is noise.
        assert_eq!(epoch(3, 0.3, Some(0.45)), None);
        // Epochs without validation do not count.
        assert_eq!(epoch(4, 0.25, None), None);
        let said = epoch(5, 0.2, Some(0.52)).unwrap();
        assert_eq!(
            said,
            "over-fitting: validation loss rose 2 epochs running (0.400 → 0.450 → 0.520) while training \
             loss fell (0.500 → 0.300 → 0.200). Next time try model.dropout = 0.5, \
             train.early_stop_patience = 3; checkpoints/best keeps epoch 2"
        );
        assert_eq!(epoch(6, 0.1, Some(0.60)), None, "said once");
    }

    #[test]
    fn over_fitting_advice_leaves_out_what_the_run_already_does() {
        let mut advisor = Advisor::new(Setting {
            dropout: 0.5,
            early_stop_patience: 3,
            ..PLAIN
        });
        for (e, (train, val)) in [(0.5, 0.4), (0.3, 0.45), (0.2, 0.5)].into_iter().enumerate() {
            if let Some(said) = at_most_one(advisor.epoch(e + 1, train, Some(val), None)) {
                assert!(
                    said.ends_with("Next time try more data or stronger augmentation ([data.augmentation])"),
                    "{said}"
                );
                return;
            }
        }
        panic!("not said");
    }

    #[test]
    fn a_training_loss_that_hardly_falls_in_two_epochs_is_slow_convergence() {
        // The quickstart at lr 1e-5 (measured): training 2.532, 2.453, 2.433; validation 2.346,
        // 2.382, 2.409.
        let mut advisor = Advisor::new(PLAIN);
        assert!(advisor.epoch(1, 2.532, Some(2.346), None).is_empty());
        let said = advisor.epoch(2, 2.453, Some(2.382), None);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("slow convergence: training loss 2.532 → 2.453 over epochs 1-2, against 2.303"),
            "{}",
            said[0]
        );
        assert!(
            !said[0].contains("data.mean"),
            "ImageNet's normalisation is not to blame: {}",
            said[0]
        );
        // Said at epoch 2 only; validation loss rising near a guess (as measured) is no over-fitting.
        assert!(advisor.epoch(3, 2.433, Some(2.41), None).is_empty());

        // Its own lr: 1.051 then 0.258. A model that starts good: 0.30 then 0.29.
        for (first, second) in [(1.051, 0.258), (0.30, 0.29)] {
            let mut advisor = Advisor::new(PLAIN);
            advisor.epoch(1, first, None, None);
            assert!(advisor.epoch(2, second, None, None).is_empty(), "{first} → {second}");
        }
        // A run resumed at epoch 2 has no epoch 1 to compare with.
        assert!(Advisor::new(PLAIN).epoch(2, 2.5, None, None).is_empty());

        // Normalisation of its own with pretrained weights is named.
        let own = ([0.5; 3], [0.5; 3], false);
        let mut advisor = Advisor::new(Setting {
            own_normalisation: Some(own),
            ..PLAIN
        });
        advisor.epoch(1, 2.5, None, None);
        let said = advisor.epoch(2, 2.4, None, None);
        assert!(
            said[0].ends_with(
                "this run uses mean [0.5, 0.5, 0.5], std [0.5, 0.5, 0.5], while weights pretrained on ImageNet \
                 expect ImageNet's [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]"
            ),
            "{}",
            said[0]
        );
    }

    #[test]
    fn slow_convergence_is_not_said_after_a_swing_in_a_long_warm_up_or_a_part_epoch() {
        let slow = |setting: Setting, swing: bool| {
            let mut advisor = Advisor::new(setting);
            if swing {
                for loss in [2.5, 12.0, 10.0, 9.0] {
                    advisor.step(loss);
                }
            }
            advisor.epoch(1, 2.5, None, None);
            advisor.epoch(2, 2.45, None, None)
        };
        assert_eq!(slow(PLAIN, false).len(), 1);
        assert!(slow(PLAIN, true).is_empty(), "the swing advice said the opposite");
        let warm = Setting {
            warmup_epochs: 2,
            ..PLAIN
        };
        assert!(slow(warm, false).is_empty());
        let resumed = Setting {
            first_epoch_whole: false,
            ..PLAIN
        };
        assert!(slow(resumed, false).is_empty());
    }

    #[test]
    fn a_guess_costs_what_the_runs_loss_makes_of_it() {
        assert!((chance_loss(LossKind::Ce, 2.0, 10) - 10f64.ln()).abs() < 1e-12);
        assert!((chance_loss(LossKind::Bce, 2.0, 10) - 2f64.ln()).abs() < 1e-12);
        // Focal, gamma 2, 10 classes: 0.9^2 x ln 10.
        assert!((chance_loss(LossKind::Focal, 2.0, 10) - 0.81 * 10f64.ln()).abs() < 1e-12);
        // A binary task learns enough to over-fit well above half a guess's loss.
        let mut advisor = Advisor::new(Setting {
            chance_loss: chance_loss(LossKind::Ce, 0.0, 2),
            ..PLAIN
        });
        let said: Vec<String> = [(0.60, 0.50), (0.50, 0.55), (0.45, 0.60)]
            .into_iter()
            .enumerate()
            .flat_map(|(e, (train, val))| advisor.epoch(e + 1, train, Some(val), None))
            .collect();
        assert!(said.len() == 1 && said[0].starts_with("over-fitting"), "{said:?}");
    }
}
