//! Which parts of the model train: the freeze map over stem, blocks and head.

use burn::module::{AutodiffModule, Param, RunningState};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backend::TrainBackend;
use crate::model::{BnMode, BnModes, FoldedPrefix, GroupKind, ResNet, TensorVisitor, groups_of};

/// Frozen or training, for every unit of the network (stem, each block, head) in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezeState {
    /// "stem", "layer1.0", ..., "layer4.2", "head".
    pub units: Vec<String>,
    pub frozen: Vec<bool>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown group '{name}': use stem, head, layer1..layer4 or a block such as {example}")]
pub struct UnknownGroup {
    pub name: String,
    pub example: String,
}

impl FreezeState {
    /// Everything trains.
    pub fn new<B: Backend>(model: &ResNet<B>) -> Self {
        let units: Vec<String> = model
            .groups()
            .into_iter()
            .filter(|g| g.kind != GroupKind::Stage)
            .map(|g| g.name)
            .collect();
        let frozen = vec![false; units.len()];
        Self { units, frozen }
    }

    /// The units a group name covers: a stage covers its blocks.
    fn select(&self, name: &str) -> Result<Vec<usize>, UnknownGroup> {
        let hits: Vec<usize> = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| *u == name || u.strip_prefix(name).is_some_and(|rest| rest.starts_with('.')))
            .map(|(i, _)| i)
            .collect();
        if hits.is_empty() {
            return Err(UnknownGroup {
                name: name.to_string(),
                example: self
                    .units
                    .get(self.units.len().saturating_sub(2))
                    .cloned()
                    .unwrap_or_default(),
            });
        }
        Ok(hits)
    }

    /// Sets `name` (a unit or a stage) frozen or not; returns whether anything changed.
    pub fn set(&mut self, name: &str, frozen: bool) -> Result<bool, UnknownGroup> {
        let mut changed = false;
        for i in self.select(name)? {
            changed |= self.frozen[i] != frozen;
            self.frozen[i] = frozen;
        }
        Ok(changed)
    }

    /// Unfreezes the frozen stage nearest the head (progressive unfreezing works from the top
    /// down); returns its name, or `None` when nothing is frozen.
    pub fn unfreeze_next(&mut self) -> Option<String> {
        let last = self.frozen.iter().rposition(|f| *f)?;
        let (stage, _) = groups_of(&self.units[last]);
        let stage = if self.units[last] == "head" {
            "head".to_string()
        } else {
            stage
        };
        self.set(&stage, false).ok()?;
        Some(stage)
    }

    pub fn is_frozen(&self, unit: &str) -> bool {
        self.units
            .iter()
            .position(|u| u == unit)
            .is_some_and(|i| self.frozen[i])
    }

    /// Frozen parts, a whole stage named once: `["stem", "layer1", "layer2.0"]`.
    pub fn frozen_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, unit) in self.units.iter().enumerate() {
            if !self.frozen[i] {
                continue;
            }
            let (stage, block) = groups_of(unit);
            let whole_stage = block.is_some()
                && self
                    .units
                    .iter()
                    .zip(&self.frozen)
                    .filter(|(u, _)| groups_of(u).0 == stage)
                    .all(|(_, f)| *f);
            let name = if whole_stage { stage } else { unit.clone() };
            if out.last() != Some(&name) {
                out.push(name);
            }
        }
        out
    }

    /// BatchNorm modes: training parts use batch statistics; frozen ones keep their running
    /// statistics unless `train_frozen_bn`.
    pub fn bn_modes(&self, train_frozen_bn: bool) -> BnModes {
        let mode = |frozen: bool| {
            if frozen && !train_frozen_bn {
                BnMode::Eval
            } else {
                BnMode::Train
            }
        };
        let blocks = self
            .units
            .iter()
            .zip(&self.frozen)
            .filter(|(u, _)| u.starts_with("layer"))
            .map(|(_, f)| mode(*f))
            .collect();
        BnModes {
            stem: mode(self.frozen.first().copied().unwrap_or(false)),
            blocks,
            rest: BnMode::Train,
        }
    }

    /// The frozen prefix that can run folded and without autodiff: the number of leading
    /// blocks frozen after a frozen stem, or `None` when the stem trains or frozen BatchNorm
    /// layers train (their statistics change, so they cannot be folded).
    pub fn foldable_prefix(&self, train_frozen_bn: bool) -> Option<usize> {
        if train_frozen_bn || !self.frozen.first().copied().unwrap_or(false) {
            return None;
        }
        let blocks = self
            .units
            .iter()
            .zip(&self.frozen)
            .skip(1)
            .take_while(|(u, f)| u.starts_with("layer") && **f)
            .count();
        Some(blocks)
    }

    /// The foldable prefix of `model` ([`Self::foldable_prefix`]), folded, if there is one.
    pub fn folded_prefix<B: TrainBackend>(
        &self,
        model: &ResNet<B>,
        train_frozen_bn: bool,
    ) -> Option<FoldedPrefix<B::InnerBackend>> {
        let blocks = self.foldable_prefix(train_frozen_bn)?;
        Some(FoldedPrefix::new(&model.valid(), blocks))
    }

    /// Marks each parameter as needing a gradient or not, so frozen parts record no autodiff
    /// graph and get no gradient, no weight decay and no update.
    pub fn apply<B: Backend>(&self, mut model: ResNet<B>) -> ResNet<B> {
        model.walk_tensors(&mut RequireGrad { state: self });
        model
    }

    /// The unit a tensor name belongs to.
    pub fn unit_of(tensor: &str) -> String {
        let (top, block) = groups_of(tensor);
        block.unwrap_or(top)
    }
}

struct RequireGrad<'a> {
    state: &'a FreezeState,
}

impl<B: Backend> TensorVisitor<B> for RequireGrad<'_> {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, _: bool) {
        let train = !self.state.is_frozen(&FreezeState::unit_of(name));
        *param = param.clone().set_require_grad(train);
    }

    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::model::{Arch, ResNetConfig};

    fn state() -> FreezeState {
        FreezeState::new(&ResNetConfig::new(Arch::ResNet18, 3).init::<Cpu>(&Default::default()))
    }

    #[test]
    fn the_foldable_prefix_is_the_frozen_stem_and_the_frozen_blocks_right_after_it() {
        let mut s = state();
        assert_eq!(s.foldable_prefix(false), None);
        s.set("stem", true).unwrap();
        assert_eq!(s.foldable_prefix(false), Some(0));
        s.set("layer1", true).unwrap();
        s.set("layer2.0", true).unwrap();
        s.set("layer3", true).unwrap();
        // layer2.1 trains, so layer3 runs in the graph even though it is frozen.
        assert_eq!(s.foldable_prefix(false), Some(3));
        assert_eq!(s.foldable_prefix(true), None);
        s.set("stem", false).unwrap();
        assert_eq!(s.foldable_prefix(false), None);
    }

    #[test]
    fn stages_cover_their_blocks_and_unfreeze_from_the_top() {
        let mut s = state();
        assert_eq!(s.units.len(), 1 + 8 + 1);
        s.set("stem", true).unwrap();
        s.set("layer1", true).unwrap();
        s.set("layer2.0", true).unwrap();
        assert_eq!(s.frozen_names(), ["stem", "layer1", "layer2.0"]);
        assert_eq!(s.unfreeze_next().as_deref(), Some("layer2"));
        assert_eq!(s.unfreeze_next().as_deref(), Some("layer1"));
        assert_eq!(s.frozen_names(), ["stem"]);
        assert_eq!(s.unfreeze_next().as_deref(), Some("stem"));
        assert_eq!(s.unfreeze_next(), None);
    }

    #[test]
    fn unknown_names_are_refused() {
        let mut s = state();
        let err = s.set("layer5", true).unwrap_err();
        assert_eq!(err.name, "layer5");
        assert!(s.set("layer1.2", true).is_err(), "resnet18 has two blocks per stage");
        assert!(s.set("layer", true).is_err(), "a prefix is not a group");
    }

    #[test]
    fn frozen_units_keep_running_statistics() {
        let mut s = state();
        s.set("layer1", true).unwrap();
        let modes = s.bn_modes(false);
        assert_eq!(modes.stem, BnMode::Train);
        assert_eq!(modes.blocks[..3], [BnMode::Eval, BnMode::Eval, BnMode::Train]);
        assert_eq!(s.bn_modes(true).blocks[0], BnMode::Train);
    }
}
