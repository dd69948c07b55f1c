use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

use super::arch::Arch;
use super::block::{Block, bn, conv};
use super::named::{TensorVisitor, visit_bn, visit_conv, visit_linear};
use super::norm::{BnMode, batch_norm};
use crate::activation::relu;
use crate::backend::KilnBackend;
use crate::config::Precision;
use crate::conv::conv2d;
use crate::pool::{MaxPool, max_pool2d};

/// The pool after the stem: 3x3, stride 2, padding 1 (torchvision's `maxpool`).
pub(crate) const STEM_POOL: MaxPool = MaxPool {
    kernel: [3, 3],
    stride: [2, 2],
    padding: [1, 1],
};

/// What to build: the architecture, the class count of the head and its dropout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResNetConfig {
    pub arch: Arch,
    pub num_classes: usize,
    /// Dropout in front of `fc` (the recipe suggests 0.5; 0 turns it off).
    pub dropout: f64,
}

impl ResNetConfig {
    pub fn new(arch: Arch, num_classes: usize) -> Self {
        Self {
            arch,
            num_classes,
            dropout: 0.0,
        }
    }

    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        let kind = self.arch.block_kind();
        let mut input = 64;
        let mut stage = |width: usize, blocks: usize, stride: usize| -> Vec<Block<B>> {
            (0..blocks)
                .map(|i| {
                    let block = Block::new(kind, input, width, if i == 0 { stride } else { 1 }, device);
                    input = width * kind.expansion();
                    block
                })
                .collect()
        };
        let [b1, b2, b3, b4] = self.arch.blocks_per_stage();
        let layer1 = stage(64, b1, 1);
        let layer2 = stage(128, b2, 2);
        let layer3 = stage(256, b3, 2);
        let layer4 = stage(512, b4, 2);
        let mut model = ResNet {
            conv1: conv(3, 64, 7, 2, device),
            bn1: bn(64, device),
            layer1,
            layer2,
            layer3,
            layer4,
            dropout: DropoutConfig::new(self.dropout).init(),
            fc: new_head(self.arch, self.num_classes, device),
            arch: self.arch,
            precision: Precision::F32,
        };
        model.walk_tensors(&mut Materialize);
        model
    }
}

/// Forces Burn's lazy parameter initialisation now. A clone of a still-lazy parameter
/// initialises on its own with fresh random numbers, so a model saved (or compared) through
/// a clone would not be the model that trains.
struct Materialize;

impl<B: Backend> TensorVisitor<B> for Materialize {
    fn param<const D: usize>(&mut self, _: &str, param: &mut burn::module::Param<Tensor<B, D>>, _: bool) {
        let _ = param.val();
    }

    fn buffer(&mut self, _: &str, _: &mut burn::module::RunningState<Tensor<B, 1>>) {}
}

/// A freshly initialised classifier, as PyTorch's `nn.Linear` would make it.
pub(crate) fn new_head<B: Backend>(arch: Arch, num_classes: usize, device: &B::Device) -> Linear<B> {
    LinearConfig::new(arch.feature_dim(), num_classes).init(device)
}

/// The BatchNorm mode of the stem and of each block, in network order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BnModes {
    pub stem: BnMode,
    /// One per block, `layer1.0` first; blocks past the end use `rest`.
    pub blocks: Vec<BnMode>,
    pub rest: BnMode,
}

impl BnModes {
    pub fn all(mode: BnMode) -> Self {
        Self {
            stem: mode,
            blocks: Vec::new(),
            rest: mode,
        }
    }

    pub fn block(&self, i: usize) -> BnMode {
        self.blocks.get(i).copied().unwrap_or(self.rest)
    }
}

/// The side of stage `stage`'s output (0 = layer1, 3 = layer4) for a square input of `side`
/// pixels: the stem's convolution, its pool and each stage after the first halve it, rounding
/// up (layer4: 1 up to 32 px, 7 at 224).
pub fn stage_side(side: usize, stage: usize) -> usize {
    (0..stage + 2).fold(side, |s, _| s.div_ceil(2))
}

/// Global average pooling `[batch, channels, h, w]` -> `[batch, channels]`: what the last
/// block's activations become before the head.
pub fn global_pool<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 2> {
    let [n, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([n, c])
}

/// A torchvision-layout ResNet: `conv1, bn1, layer1..layer4, fc`.
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    pub conv1: burn::nn::conv::Conv2d<B>,
    pub bn1: burn::nn::BatchNorm<B>,
    pub layer1: Vec<Block<B>>,
    pub layer2: Vec<Block<B>>,
    pub layer3: Vec<Block<B>>,
    pub layer4: Vec<Block<B>>,
    pub dropout: Dropout,
    pub fc: Linear<B>,
    #[module(skip)]
    pub arch: Arch,
    /// What the convolutions compute in; weights, BatchNorm and the head stay f32.
    #[module(skip)]
    pub precision: Precision,
}

impl<B: Backend> ResNet<B> {
    /// The same model with its convolutions computing in `precision` (see [`conv2d`]).
    pub fn computing_in(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    pub fn num_classes(&self) -> usize {
        self.fc.weight.dims()[1]
    }

    pub fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc.forward(self.dropout.forward(features))
    }

    /// Residual blocks over all stages.
    pub fn block_count(&self) -> usize {
        self.stages().iter().map(|s| s.len()).sum()
    }

    pub fn stages(&self) -> [&Vec<Block<B>>; 4] {
        [&self.layer1, &self.layer2, &self.layer3, &self.layer4]
    }

    /// Walks every tensor in state-dict order under its torchvision name.
    pub fn walk_tensors<V: TensorVisitor<B>>(&mut self, v: &mut V) {
        visit_conv(v, "conv1", &mut self.conv1);
        visit_bn(v, "bn1", &mut self.bn1);
        let stages = [&mut self.layer1, &mut self.layer2, &mut self.layer3, &mut self.layer4];
        for (s, stage) in stages.into_iter().enumerate() {
            for (i, block) in stage.iter_mut().enumerate() {
                block.walk_tensors(v, &format!("layer{}.{i}", s + 1));
            }
        }
        visit_linear(v, "fc", &mut self.fc);
    }
}

impl<B: KilnBackend> ResNet<B> {
    /// Logits `[batch, classes]` for images `[batch, 3, height, width]`, in inference mode.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head(self.features(images, &BnModes::all(BnMode::Eval)))
    }

    /// Pooled features `[batch, feature_dim]`: everything up to the classifier, each part's
    /// BatchNorm in the mode `modes` gives it.
    pub fn features(&self, images: Tensor<B, 4>, modes: &BnModes) -> Tensor<B, 2> {
        let x = relu(batch_norm(
            &self.bn1,
            conv2d(&self.conv1, images, self.precision),
            modes.stem,
        ));
        let x = max_pool2d(x, STEM_POOL);
        self.features_after(x, 0, modes)
    }

    /// Pooled features from the activations before block `start` (counted over all stages),
    /// e.g. the output of a [`FoldedPrefix`](super::FoldedPrefix) of `start` blocks.
    pub fn features_after(&self, x: Tensor<B, 4>, start: usize, modes: &BnModes) -> Tensor<B, 2> {
        let mut x = x;
        for (i, block) in self.stages().into_iter().flatten().enumerate().skip(start) {
            x = block.forward(x, modes.block(i), self.precision);
        }
        global_pool(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_sides_are_torchvisions() {
        // layer1..layer4's output sides in torchvision for these inputs.
        for (side, out) in [
            (224, [56, 28, 14, 7]),
            (65, [17, 9, 5, 3]),
            (33, [9, 5, 3, 2]),
            (32, [8, 4, 2, 1]),
        ] {
            assert_eq!([0, 1, 2, 3].map(|stage| stage_side(side, stage)), out, "{side} px");
        }
    }
}
