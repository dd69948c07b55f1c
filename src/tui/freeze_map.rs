//! The freeze map as the dashboard sees it: the model's groups (stem, stages and their blocks,
//! head), which units are frozen, which stages are opened up to their blocks, and the selection.

use std::collections::{BTreeMap, BTreeSet};

use crate::train::event::GroupInfo;

/// Frozen or training; a stage with some of each is partly frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    Frozen,
    Training,
    Partly,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FreezeMap {
    pub groups: Vec<GroupInfo>,
    /// Frozen units: stem, blocks (`layer2.0`) and head; a stage is its blocks.
    pub frozen: BTreeSet<String>,
    /// Stages shown with their blocks.
    pub expanded: BTreeSet<String>,
    /// Index into [`FreezeMap::visible`].
    pub selected: usize,
    pub trainable_params: Option<usize>,
    /// `train.frozen_bn = "train"`: frozen parts still use batch statistics.
    pub frozen_bn_trains: bool,
}

impl FreezeMap {
    pub fn new(groups: Vec<GroupInfo>, frozen: &[String], frozen_bn_trains: bool) -> Self {
        let mut map = Self {
            groups,
            frozen_bn_trains,
            ..Self::default()
        };
        map.set_frozen(frozen);
        map
    }

    fn units(&self) -> impl Iterator<Item = &GroupInfo> {
        self.groups.iter().filter(|g| g.kind != "stage")
    }

    /// Takes the trainer's list (`["stem", "layer1", "layer2.0"]`: a whole stage named once).
    pub fn set_frozen(&mut self, names: &[String]) {
        let frozen = self
            .units()
            .filter(|u| {
                names
                    .iter()
                    .any(|n| *n == u.name || u.parent.as_deref() == Some(n.as_str()))
            })
            .map(|u| u.name.clone())
            .collect();
        self.frozen = frozen;
    }

    /// Rows on screen: every stem, stage and head, and the blocks of opened stages.
    pub fn visible(&self) -> Vec<&GroupInfo> {
        self.groups
            .iter()
            .filter(|g| g.parent.as_ref().is_none_or(|p| self.expanded.contains(p)))
            .collect()
    }

    pub fn selected_group(&self) -> Option<&GroupInfo> {
        self.visible().get(self.selected).copied()
    }

    pub fn move_selection(&mut self, delta: isize) {
        let n = self.visible().len();
        if n > 0 {
            self.selected = self.selected.saturating_add_signed(delta).min(n - 1);
        }
    }

    /// Opens the selected stage to its blocks (or closes it); on a block, closes its stage
    /// and selects the stage.
    pub fn toggle_expanded(&mut self, open: Option<bool>) {
        let Some(g) = self.selected_group().cloned() else {
            return;
        };
        let stage = match (g.kind.as_str(), &g.parent) {
            ("stage", _) => g.name.clone(),
            (_, Some(parent)) => parent.clone(),
            _ => return,
        };
        let now_open = self.expanded.contains(&stage);
        let want = open.unwrap_or(!now_open);
        if g.kind == "block" && want {
            return;
        }
        if want {
            self.expanded.insert(stage);
        } else {
            self.expanded.remove(&stage);
            if let Some(i) = self.visible().iter().position(|v| v.name == stage) {
                self.selected = i;
            }
        }
    }

    pub fn state(&self, name: &str) -> Freeze {
        let covered: Vec<bool> = self
            .units()
            .filter(|u| u.name == name || u.parent.as_deref() == Some(name))
            .map(|u| self.frozen.contains(&u.name))
            .collect();
        match (covered.iter().all(|f| *f), covered.iter().any(|f| *f)) {
            (true, true) => Freeze::Frozen,
            (_, true) => Freeze::Partly,
            _ => Freeze::Training,
        }
    }

    /// BatchNorm in a group: running statistics kept (frozen, `frozen_bn = "fixed"`) or batch
    /// statistics; the head has none.
    pub fn bn_mode(&self, name: &str) -> &'static str {
        if name == "head" {
            return "-";
        }
        match (self.state(name), self.frozen_bn_trains) {
            (Freeze::Training, _) | (_, true) => "batch",
            (Freeze::Frozen, false) => "fixed",
            (Freeze::Partly, false) => "mixed",
        }
    }

    /// The learning rate a group trains with: its stage's for a block.
    pub fn lr<'a>(&self, g: &GroupInfo, lr: &'a BTreeMap<String, f64>) -> Option<&'a f64> {
        lr.get(&g.name).or_else(|| g.parent.as_ref().and_then(|p| lr.get(p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::resnet18_groups;

    #[test]
    fn stages_cover_their_blocks_and_open_to_them() {
        let mut map = FreezeMap::new(
            resnet18_groups(),
            &["stem".into(), "layer1".into(), "layer2.0".into()],
            false,
        );
        assert_eq!(map.state("layer1"), Freeze::Frozen);
        assert_eq!(map.state("layer2"), Freeze::Partly);
        assert_eq!(map.state("layer2.1"), Freeze::Training);
        assert_eq!(map.bn_mode("layer1"), "fixed");
        assert_eq!(map.bn_mode("layer2"), "mixed");
        assert_eq!(map.bn_mode("head"), "-");
        let names = |m: &FreezeMap| m.visible().iter().map(|g| g.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&map), ["stem", "layer1", "layer2", "layer3", "layer4", "head"]);
        map.move_selection(2);
        map.toggle_expanded(Some(true));
        assert_eq!(names(&map)[2..5], ["layer2", "layer2.0", "layer2.1"]);
        map.move_selection(1);
        assert_eq!(map.selected_group().unwrap().name, "layer2.0");
        map.toggle_expanded(Some(false));
        assert_eq!(map.selected_group().unwrap().name, "layer2");
        map.move_selection(100);
        assert_eq!(map.selected_group().unwrap().name, "head");
        assert_eq!(
            FreezeMap::new(resnet18_groups(), &["layer1".into()], true).bn_mode("layer1"),
            "batch"
        );
    }
}
