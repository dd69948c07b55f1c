//! Checkpoints: everything a run needs to continue exactly where it was.
//!
//! `checkpoints/<which>/` holds `model.mpk` (Burn's record, which keeps parameter ids so the
//! optimizer state still matches), `optim.mpk`, `state.json` and `model.safetensors`
//! (torchvision names, for PyTorch). A checkpoint is written into `<which>.tmp/` and swapped
//! in with renames, so a kill at any moment leaves the previous one whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::freeze::FreezeState;
use super::loss_scale::LossScale;
use super::optim::Optim;
use crate::backend::TrainBackend;
use crate::model::ResNet;
use crate::weights::{SaveDtype, save_safetensors};

/// The loop's position and counters, beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimizer steps taken.
    pub step: u64,
    /// Epoch under way (1-based).
    pub epoch: usize,
    /// Batches of `epoch` already trained on; 0 at an epoch boundary.
    pub batches_done: usize,
    pub freeze: FreezeState,
    /// Base learning rate of each group, before the schedule (commands change these).
    pub base_lr: BTreeMap<String, f64>,
    pub best_epoch: Option<usize>,
    pub best_metric: Option<f64>,
    pub epochs_without_improvement: usize,
    pub seed: u64,
    /// The f16 loss scale (absent for f32 and bf16, and from older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<LossScale>,
}

impl TrainState {
    /// A fresh state for the first epoch.
    pub fn initial(seed: u64, freeze: FreezeState, base_lr: BTreeMap<String, f64>) -> Self {
        Self {
            step: 0,
            epoch: 1,
            batches_done: 0,
            freeze,
            base_lr,
            best_epoch: None,
            best_metric: None,
            epochs_without_improvement: 0,
            seed,
            loss_scale: None,
        }
    }
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

/// Writes a checkpoint at `dir` (e.g. `checkpoints/last`).
pub fn save<B: TrainBackend>(
    dir: &Path,
    model: &ResNet<B>,
    optim: Option<&Optim<B>>,
    state: &TrainState,
) -> anyhow::Result<()> {
    let tmp = with_suffix(dir, "tmp");
    let old = with_suffix(dir, "old");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    model
        .clone()
        .save_file(tmp.join("model"), &recorder())
        .with_context(|| format!("cannot write the model into {}", tmp.display()))?;
    if let Some(optim) = optim {
        optim
            .save(&tmp.join("optim"))
            .with_context(|| format!("cannot write the optimizer state into {}", tmp.display()))?;
    }
    save_safetensors(model, &tmp.join("model.safetensors"), SaveDtype::F32)?;
    std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(state)?)?;
    let _ = std::fs::remove_dir_all(&old);
    if dir.exists() {
        std::fs::rename(dir, &old).with_context(|| format!("cannot move {} aside", dir.display()))?;
    }
    std::fs::rename(&tmp, dir).with_context(|| format!("cannot move {} into place", tmp.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The checkpoint to resume from: `dir`, or the previous one if a kill struck mid-swap.
pub fn find(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), with_suffix(dir, "old")]
        .into_iter()
        .find(|d| d.join("state.json").is_file())
}

pub fn load_state(dir: &Path) -> anyhow::Result<TrainState> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a kiln checkpoint state", path.display()))
}

pub fn load_model<B: AutodiffBackend>(dir: &Path, model: ResNet<B>, device: &B::Device) -> anyhow::Result<ResNet<B>> {
    model
        .load_file(dir.join("model"), &recorder(), device)
        .with_context(|| format!("cannot load the model from {}", dir.display()))
}

pub fn load_optim<B: TrainBackend>(dir: &Path, optim: Optim<B>, device: &B::Device) -> anyhow::Result<Optim<B>> {
    optim
        .load(&dir.join("optim"), device)
        .with_context(|| format!("cannot load the optimizer state from {}", dir.display()))
}

fn with_suffix(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuTrain;
    use crate::model::{Arch, ResNetConfig};

    #[test]
    fn the_loss_scale_survives_a_checkpoint_and_older_states_load_without_one() {
        let model = ResNetConfig::new(Arch::ResNet18, 2).init::<CpuTrain>(&Default::default());
        let mut state = TrainState::initial(3, FreezeState::new(&model), BTreeMap::new());
        let plain = serde_json::to_string(&state).unwrap();
        assert!(
            !plain.contains("loss_scale"),
            "f32 and bf16 states stay as they were: {plain}"
        );
        assert_eq!(serde_json::from_str::<TrainState>(&plain).unwrap().loss_scale, None);
        state.loss_scale = Some(LossScale {
            scale: 8192.0,
            good_steps: 17,
        });
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("last");
        save(&at, &model, None, &state).unwrap();
        assert_eq!(load_state(&at).unwrap(), state);
    }
}
