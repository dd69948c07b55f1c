//! Everything the trainer has to say. The run log, the headless printer and the dashboard
//! all read these same records: if it is not an event, it did not happen.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::command::{Command, Source};
use super::metrics::EvalMetrics;

/// Reads a `null` as NaN. serde_json writes a NaN or an infinity as `null` (JSON has
/// neither), so a diverged run's loss, or an f16 step's overflowed gradient norm, comes back
/// as "not a number" instead of making its log unreadable.
pub(crate) fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One event with where and when it happened; one line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Optimizer steps taken so far in the run.
    pub step: u64,
    /// The epoch under way (1-based; 0 before the first).
    pub epoch: usize,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Started(Box<Started>),
    Step(StepInfo),
    Epoch(Box<EpochInfo>),
    /// A command took effect at this record's step.
    Command {
        command: Command,
        source: Source,
        /// What changed, in words ("lr 1.0e-4 -> 5.0e-5").
        detail: String,
    },
    /// A command that could not be applied, and why.
    CommandRejected {
        text: String,
        source: Source,
        reason: String,
    },
    FreezeChanged {
        frozen: Vec<String>,
        trainable_params: usize,
    },
    CheckpointSaved {
        /// "last" or "best".
        which: String,
        path: String,
    },
    Warning {
        message: String,
    },
    /// A hardware reading (GPU, or CPU/RAM without one), from the sampler thread.
    Telemetry(Box<crate::telemetry::Sample>),
    Finished(Box<Summary>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub name: String,
    /// "stem", "stage", "block" or "head".
    pub kind: String,
    pub parent: Option<String>,
    pub params: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    pub run_dir: String,
    pub name: String,
    pub model: String,
    pub device: String,
    pub data_root: String,
    pub classes: Vec<String>,
    pub groups: Vec<GroupInfo>,
    pub frozen: Vec<String>,
    pub lr: BTreeMap<String, f64>,
    pub train_images: usize,
    pub val_images: usize,
    pub test_images: usize,
    /// Images that could not be decoded and were left out.
    pub skipped_images: usize,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub resumed_from_step: Option<u64>,
    /// Where the starting weights came from, in words (absent from older runs' logs).
    #[serde(default)]
    pub weights: String,
    /// The resolved config, as saved in `config.toml`.
    pub config: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepInfo {
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    pub lr: BTreeMap<String, f64>,
    /// The gradient norm before clipping; not finite when f16 overflowed and the step was
    /// skipped.
    #[serde(deserialize_with = "nan_if_null")]
    pub grad_norm: f64,
    /// The f16 loss scale this step ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    pub images_per_second: f64,
    /// Time the step waited for its batch, in milliseconds.
    pub data_wait_ms: f64,
    pub step_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochInfo {
    #[serde(deserialize_with = "nan_if_null")]
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val: EvalMetrics,
    pub lr: BTreeMap<String, f64>,
    /// Whether this epoch is the best so far on the early-stopping metric.
    pub best: bool,
    pub seconds: f64,
    pub images_per_second: f64,
    /// Epochs without improvement before early stopping fires, if it is on.
    pub patience_left: Option<usize>,
}

/// How a run ended (`summary.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    EarlyStopped,
    Stopped,
    Aborted,
    Failed,
}

impl Status {
    /// The word a person reads ("early stopped"; summary.json has "early_stopped").
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::EarlyStopped => "early stopped",
            Status::Stopped => "stopped",
            Status::Aborted => "aborted",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub status: Status,
    pub best_epoch: Option<usize>,
    pub epochs_run: usize,
    pub steps: u64,
    pub val: Option<EvalMetrics>,
    pub test: Option<EvalMetrics>,
    pub images_per_second: f64,
    pub wall_seconds: f64,
    /// Images that could not be decoded and were left out.
    pub skipped_images: usize,
    /// Why the run failed, when it did.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_whose_loss_and_norm_are_not_finite_writes_null_and_reads_back_as_nan() {
        let step = StepInfo {
            loss: f64::NAN,
            lr: BTreeMap::from([("head".to_string(), 1e-3)]),
            grad_norm: f64::INFINITY,
            loss_scale: Some(65536.0),
            images_per_second: 10.0,
            data_wait_ms: 0.0,
            step_ms: 100.0,
        };
        let line = serde_json::to_string(&step).unwrap();
        assert!(
            line.contains("\"loss\":null") && line.contains("\"grad_norm\":null"),
            "{line}"
        );
        let back: StepInfo = serde_json::from_str(&line).unwrap();
        assert!(back.loss.is_nan() && back.grad_norm.is_nan(), "{back:?}");
        assert_eq!(back.images_per_second, 10.0);
    }
}
