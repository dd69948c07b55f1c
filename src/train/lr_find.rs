//! The learning-rate range test: a short run whose learning rate grows exponentially from step
//! to step, stopped once the loss blows up. Where the smoothed loss falls fastest is a good
//! `train.lr`; the weights it leaves are thrown away. Each group keeps its ratio to `train.lr`
//! (the head's `head_lr`), and the freeze map, loss and optimizer are the run's own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::prelude::*;

use super::emitter::Emitter;
use super::loss_scale::Verdict;
use super::setup::Prepared;
use super::step::{StepInput, StepSettings, train_step};
use super::targets::Targets;
use super::trainer::skipped::SkippedImages;
use crate::backend::TrainBackend;
use crate::config::RunConfig;

/// The sweep: `steps` learning rates from `min` to `max`, evenly spaced in log.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub min: f64,
    pub max: f64,
    pub steps: usize,
}

impl Plan {
    pub fn lr(&self, step: usize) -> f64 {
        let t = step as f64 / (self.steps.max(2) - 1) as f64;
        self.min * (self.max / self.min).powf(t)
    }
}

/// One step of the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// `train.lr` at this step (other groups in proportion).
    pub lr: f64,
    pub loss: f64,
    /// Exponentially smoothed, bias-corrected loss.
    pub smoothed: f64,
}

/// Smoothing of the loss curve: a step weighs 10 %, so the curve lags by a few steps, not
/// the 50 of fastai's 0.98 (a sweep here is often 100 steps over 8 decades).
const BETA: f64 = 0.9;
/// Steps at the start that no suggestion is read from (or a tenth of the sweep, if more).
const SETTLING: usize = 5;
/// The sweep stops once the smoothed loss is this many times its lowest.
const BLOW_UP: f64 = 4.0;

/// Why the sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every planned step ran.
    Planned,
    /// The smoothed loss passed [`BLOW_UP`] times its lowest, or stopped being finite.
    BlewUp,
    /// The user stopped it (Ctrl-C).
    Interrupted,
}

/// What a sweep found: the curve and why it ended.
#[derive(Debug)]
pub struct Swept {
    pub curve: Curve,
    pub end: End,
}

/// Adds each step's loss and says when to stop.
#[derive(Debug, Default)]
pub struct Curve {
    pub points: Vec<Point>,
    average: f64,
    lowest: f64,
}

impl Curve {
    /// Records `loss` at `lr`; `false` when the sweep should stop here.
    pub fn push(&mut self, lr: f64, loss: f64) -> bool {
        let n = self.points.len() as i32 + 1;
        self.average = BETA * self.average + (1.0 - BETA) * loss;
        let smoothed = self.average / (1.0 - BETA.powi(n));
        self.points.push(Point { lr, loss, smoothed });
        if !smoothed.is_finite() {
            return false;
        }
        if n == 1 || smoothed < self.lowest {
            self.lowest = smoothed;
        }
        smoothed <= BLOW_UP * self.lowest
    }

    /// The learning rates to suggest, if the curve has a fall to read them from.
    pub fn suggestion(&self) -> Option<Suggestion> {
        let finite: Vec<&Point> = self.points.iter().take_while(|p| p.smoothed.is_finite()).collect();
        // The first steps are left out: the average is still settling there, and one lucky
        // batch among them would read as the lowest loss and the steepest fall.
        let settled = (finite.len() / 10).max(SETTLING);
        let (lowest_at, lowest) = finite
            .iter()
            .enumerate()
            .skip(settled)
            .min_by(|a, b| a.1.smoothed.total_cmp(&b.1.smoothed))?;
        // The steepest fall of the smoothed loss against log lr, up to the lowest point.
        let steepest = (settled + 1..=lowest_at)
            .map(|i| {
                let (a, b) = (finite[i - 1], finite[i]);
                let slope = (b.smoothed - a.smoothed) / (b.lr.log10() - a.lr.log10());
                (slope, b.lr)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(slope, _)| *slope < 0.0)?;
        Some(Suggestion {
            steepest: steepest.1,
            lowest_over_ten: lowest.lr / 10.0,
        })
    }
}

/// What the curve says about `train.lr`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    /// Where the smoothed loss fell fastest.
    pub steepest: f64,
    /// A tenth of the learning rate with the lowest smoothed loss (a common, safer pick).
    pub lowest_over_ten: f64,
}

/// Runs the sweep on the run's training data, in the loader's order, epoch after epoch, until
/// the plan or the loss ends it, or `stop` is set. Unreadable images are warned of through
/// `em`, each once, as they are met.
pub fn sweep<B: TrainBackend>(
    p: &mut Prepared<B>,
    config: &RunConfig,
    plan: &Plan,
    device: &B::Device,
    stop: &AtomicBool,
    em: &mut Emitter,
) -> anyhow::Result<Swept> {
    let size = config.data.image_size as usize;
    let trains = config.train.frozen_bn_trains();
    let modes = p.state.freeze.bn_modes(trains);
    let prefix = (p.model.as_ref()).and_then(|model| p.state.freeze.folded_prefix(model, trains));
    let mut curve = Curve::default();
    // A broken file is met again each epoch; it is said once.
    let mut skipped = SkippedImages::default();
    let mut step = 0;
    for epoch in 1.. {
        let before = step;
        for batch in p.train.epoch(epoch) {
            skipped.note(em, "training", &batch.skipped);
            if step == plan.steps {
                return Ok(Swept {
                    curve,
                    end: End::Planned,
                });
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(Swept {
                    curve,
                    end: End::Interrupted,
                });
            }
            // A lone image cannot train every BatchNorm; an empty batch had only unreadable files.
            let n = batch.labels.len();
            if n < 2 {
                continue;
            }
            let lr = plan.lr(step);
            let scale = lr / config.train.lr;
            let lrs: BTreeMap<String, f64> = p
                .state
                .base_lr
                .iter()
                .map(|(g, base)| (g.clone(), base * scale))
                .collect();
            let images = Tensor::<B, 4>::from_data(TensorData::new(batch.images, [n, 3, size, size]), device);
            let targets = Targets::of_samples(p.train.samples(), &batch.indices, p.multi.as_ref(), device);
            let settings = StepSettings {
                modes: &modes,
                lr: &lrs,
                clip: config.train.clip_grad_norm,
                prefix: prefix.as_ref(),
                loss_scale: p.state.loss_scale.map(|s| s.scale),
            };
            let model = p
                .model
                .take()
                .ok_or_else(|| anyhow::anyhow!("the sweep lost its model"))?;
            let (model, result) = train_step(
                model,
                &mut p.optim,
                &p.loss,
                StepInput::Images(images),
                targets,
                &settings,
            );
            p.model = Some(model);
            step += 1;
            // Gradients that are not finite end the sweep as a blow-up does; under f16 only once
            // the loss scale cannot go lower (a skipped step's forward loss still counts).
            let diverged = match &mut p.state.loss_scale {
                Some(scale) => matches!(scale.after_step(result.applied), Verdict::Diverged),
                None => !result.applied,
            };
            if !curve.push(lr, result.loss) || diverged {
                return Ok(Swept {
                    curve,
                    end: End::BlewUp,
                });
            }
        }
        anyhow::ensure!(step > before, "no training batch of two or more images to sweep with");
    }
    unreachable!("the epochs run until the plan or the loss ends the sweep")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_spans_min_to_max_evenly_in_log() {
        let plan = Plan {
            min: 1e-6,
            max: 1.0,
            steps: 7,
        };
        let lrs: Vec<f64> = (0..7).map(|s| plan.lr(s)).collect();
        for (got, want) in lrs.iter().zip([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]) {
            assert!((got / want - 1.0).abs() < 1e-9, "{lrs:?}");
        }
    }

    /// A loss that falls fastest around 1e-3, bottoms out at 1e-1 and then explodes.
    fn u_curve() -> Curve {
        let plan = Plan {
            min: 1e-6,
            max: 10.0,
            steps: 200,
        };
        let mut curve = Curve::default();
        for s in 0..plan.steps {
            let x = plan.lr(s).log10();
            let loss = if x < -1.0 {
                1.0 + 1.0 / (1.0 + (2.0 * (x + 3.0)).exp())
            } else {
                1.0 + 10f64.powf(3.0 * (x + 1.0)) - 1.0
            };
            if !curve.push(plan.lr(s), loss) {
                break;
            }
        }
        curve
    }

    #[test]
    fn the_curve_stops_at_a_blow_up_and_suggests_its_steepest_fall() {
        let curve = u_curve();
        let last = curve.points.last().unwrap();
        assert!(last.lr < 10.0, "stopped before the plan's end at {}", last.lr);
        assert!(last.smoothed > BLOW_UP * 0.99, "{last:?}");
        let s = curve.suggestion().unwrap();
        // Smoothing lags the curve by a few steps: the steepest fall (1e-3) reads at 1.9e-3,
        // the lowest point (1e-1) a little past it.
        assert!((1e-3..3e-3).contains(&s.steepest), "{s:?}");
        assert!((5e-3..2e-2).contains(&s.lowest_over_ten), "{s:?}");
    }

    #[test]
    fn one_lucky_batch_among_the_first_steps_is_not_the_suggestion() {
        // Measured on 21 digits in batches of 4: step 2's batch gave 0.45 among losses near 1.5.
        let losses = [
            1.59, 0.45, 1.64, 1.17, 1.59, 1.54, 1.14, 0.96, 1.45, 0.93, 0.57, 0.47, 1.64, 0.17, 1.91,
        ];
        let mut curve = Curve::default();
        for (i, loss) in losses.into_iter().enumerate() {
            curve.push(1e-6 * 2f64.powi(i as i32), loss);
        }
        let s = curve.suggestion().unwrap();
        assert!(s.steepest > 1e-5 && s.lowest_over_ten > 1e-5, "{s:?}");
    }

    #[test]
    fn a_curve_without_a_fall_suggests_nothing() {
        let mut curve = Curve::default();
        for i in 0..50 {
            curve.push(1e-5 * 1.2f64.powi(i), 2.0 + i as f64 * 0.01);
        }
        assert_eq!(curve.suggestion(), None);
        let mut nan = Curve::default();
        assert!(nan.push(1e-5, 2.0));
        assert!(!nan.push(1e-4, f64::NAN), "a non-finite loss ends the sweep");
    }
}
