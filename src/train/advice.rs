//! The recipe's advice for watching a run, said when the losses show it: a loss that swings up
//! in the first steps (the learning rate is too high: lower it, warm up), and validation loss
//! rising while training loss falls (over-fitting: augment more, add dropout, stop early).
//! Each is said once a run. Plain arithmetic over the losses, so it is tested on its own.

/// Early swings are looked for in this many first steps (of this process).
const EARLY_STEPS: usize = 50;
/// Steps averaged, so one noisy batch is not a swing.
const SWING_WINDOW: usize = 3;
/// A swing: the window's mean loss this many times the first step's.
const SWING_FACTOR: f64 = 2.0;
/// Over-fitting: validation loss up and training loss down this many epochs running.
const OVERFIT_EPOCHS: usize = 2;

#[derive(Debug)]
pub struct Advisor {
    setting: Setting,
    steps: Vec<f64>,
    said_swing: bool,
    /// (epoch, training loss, validation loss) of each epoch with validation images.
    epochs: Vec<(usize, f64, f64)>,
    said_overfit: bool,
}

/// How the run is set up, for advice that names what to change.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub warmup_epochs: u32,
    pub dropout: f64,
    pub early_stop_patience: u32,
    pub augment: bool,
}

impl Setting {
    pub fn of(config: &crate::config::RunConfig) -> Self {
        Setting {
            warmup_epochs: config.train.warmup_epochs,
            dropout: config.model.dropout,
            early_stop_patience: config.train.early_stop_patience,
            augment: config.data.augment,
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
             learning rate is likely too high. Lower it now (- halves every rate; `lr 1e-4`, `lr head 1e-3`){warm_up}; \
             `kiln lr-find CONFIG` suggests one",
            n - SWING_WINDOW + 1
        ))
    }

    /// One epoch's training and validation loss (`None` without validation images).
    pub fn epoch(
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
        if !diverging {
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
    };

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
        let mut epoch = |e, train, val: Option<f64>| advisor.epoch(e, train, val, Some(2));
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
            if let Some(said) = advisor.epoch(e + 1, train, Some(val), None) {
                assert!(
                    said.ends_with("Next time try more data or stronger augmentation ([data.augmentation])"),
                    "{said}"
                );
                return;
            }
        }
        panic!("not said");
    }
}
