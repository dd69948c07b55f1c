use burn::module::{Param, RunningState};
use burn::prelude::*;

use super::named::TensorVisitor;
use super::resnet::ResNet;

/// The level of a group in the model's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// `conv1` + `bn1`.
    Stem,
    /// `layer1`..`layer4`.
    Stage,
    /// One residual block inside a stage, e.g. `layer3.7`.
    Block,
    /// Dropout + `fc`.
    Head,
}

/// A named part of the model that can be frozen or given its own learning rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub kind: GroupKind,
    /// The stage a block belongs to.
    pub parent: Option<String>,
    /// Trainable parameters (BatchNorm running statistics are not counted, as in PyTorch).
    pub params: usize,
}

/// The group names a tensor belongs to: its top-level group and, inside a stage, its block.
pub fn groups_of(tensor_name: &str) -> (String, Option<String>) {
    let mut parts = tensor_name.split('.');
    let top = parts.next().unwrap_or_default();
    match top {
        "conv1" | "bn1" => ("stem".into(), None),
        "fc" => ("head".into(), None),
        stage => {
            let block = parts.next().map(|i| format!("{stage}.{i}"));
            (stage.to_string(), block)
        }
    }
}

#[derive(Default)]
struct Counter {
    order: Vec<Group>,
}

impl Counter {
    fn add(&mut self, name: String, kind: GroupKind, parent: Option<String>, n: usize) {
        match self.order.iter_mut().find(|g| g.name == name) {
            Some(g) => g.params += n,
            None => self.order.push(Group {
                name,
                kind,
                parent,
                params: n,
            }),
        }
    }
}

impl<B: Backend> TensorVisitor<B> for Counter {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, _: bool) {
        let n = param.shape().num_elements();
        let (top, block) = groups_of(name);
        let kind = match top.as_str() {
            "stem" => GroupKind::Stem,
            "head" => GroupKind::Head,
            _ => GroupKind::Stage,
        };
        self.add(top.clone(), kind, None, n);
        if let Some(block) = block {
            self.add(block, GroupKind::Block, Some(top), n);
        }
    }

    fn buffer(&mut self, _: &str, _: &mut RunningState<Tensor<B, 1>>) {}
}

impl<B: Backend> ResNet<B> {
    /// Ordered groups: stem, each stage followed by its blocks, head.
    pub fn groups(&self) -> Vec<Group> {
        let mut counter = Counter::default();
        self.clone().walk_tensors(&mut counter);
        counter.order
    }

    /// Trainable parameters, counted as torchvision counts them.
    pub fn param_count(&self) -> usize {
        self.groups()
            .iter()
            .filter(|g| g.kind != GroupKind::Block)
            .map(|g| g.params)
            .sum()
    }
}
