//! The frozen prefix with BatchNorm folded into its convolutions.
//!
//! While the stem and the first blocks are frozen with BatchNorm on running statistics, each
//! `bn(conv(x))` is one affine map per channel after a linear one: the same as a single
//! convolution with weights `w * scale` and bias `shift`. That saves a pass over every
//! activation of the prefix. The folded copy is built from the real weights and thrown away
//! when the prefix changes; checkpoints keep the real, unfolded weights.

use burn::module::Param;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use super::resnet::STEM_POOL;
use super::{Block, ResNet};
use crate::activation::{add_relu, relu};
use crate::backend::KilnBackend;
use crate::config::Precision;
use crate::conv::conv2d;
use crate::pool::max_pool2d;

/// `bn(conv(x))` as one convolution with a bias.
fn fold<B: Backend>(conv: &Conv2d<B>, bn: &BatchNorm<B>) -> Conv2d<B> {
    let dims = conv.weight.dims();
    let [out, per_out] = [dims[0], dims[1..].iter().product()];
    let scale = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
    let mut shift = bn.beta.val() - bn.running_mean.value() * scale.clone();
    if let Some(bias) = &conv.bias {
        shift = shift + bias.val() * scale.clone();
    }
    let mut folded = conv.clone();
    // The scale repeated to the weight's own [out, rest] shape: Flex multiplies a broadcast
    // [out, 1, 1, 1] operand element by element through a strided walk (~0.3 s to fold a
    // resnet50, 7 % of a `kiln bench --mode eval` run), equal shapes with its vector kernel.
    let scale = scale.reshape([out, 1]).repeat_dim(1, per_out);
    let weight = conv.weight.val().reshape([out, per_out]) * scale;
    folded.weight = Param::from_tensor(weight.reshape(dims));
    folded.bias = Some(Param::from_tensor(shift));
    folded
}

struct FoldedBlock<B: Backend> {
    convs: Vec<Conv2d<B>>,
    downsample: Option<Conv2d<B>>,
}

impl<B: Backend> FoldedBlock<B> {
    fn new(block: &Block<B>) -> Self {
        let mut convs = vec![fold(&block.conv1, &block.bn1), fold(&block.conv2, &block.bn2)];
        if let (Some(conv3), Some(bn3)) = (&block.conv3, &block.bn3) {
            convs.push(fold(conv3, bn3));
        }
        Self {
            convs,
            downsample: block.downsample.as_ref().map(|d| fold(&d.conv, &d.bn)),
        }
    }
}

impl<B: KilnBackend> FoldedBlock<B> {
    fn forward(&self, x: Tensor<B, 4>, precision: Precision) -> Tensor<B, 4> {
        let identity = match &self.downsample {
            Some(conv) => conv2d(conv, x.clone(), precision),
            None => x.clone(),
        };
        let last = self.convs.len() - 1;
        let mut out = x;
        for (i, conv) in self.convs.iter().enumerate() {
            out = conv2d(conv, out, precision);
            if i < last {
                out = relu(out);
            }
        }
        add_relu(out, identity)
    }
}

/// The stem and the first `blocks` blocks, folded; runs on a backend without autodiff.
pub struct FoldedPrefix<B: Backend> {
    stem: Conv2d<B>,
    blocks: Vec<FoldedBlock<B>>,
    /// The model's, when it was folded.
    precision: Precision,
}

impl<B: Backend> FoldedPrefix<B> {
    /// Folds the stem and the first `blocks` blocks of `model` (in stage order).
    pub fn new(model: &ResNet<B>, blocks: usize) -> Self {
        Self {
            stem: fold(&model.conv1, &model.bn1),
            blocks: model
                .stages()
                .into_iter()
                .flatten()
                .take(blocks)
                .map(FoldedBlock::new)
                .collect(),
            precision: model.precision,
        }
    }

    /// How many blocks it covers; the model goes on from the next one.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }
}

impl<B: KilnBackend> FoldedPrefix<B> {
    /// The activations after the prefix, as `ResNet::features_after` takes them.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = relu(conv2d(&self.stem, images, self.precision));
        let mut x = max_pool2d(x, STEM_POOL);
        for block in &self.blocks {
            x = block.forward(x, self.precision);
        }
        x
    }
}

impl<B: KilnBackend> ResNet<B> {
    /// The whole backbone folded, for inference: eval-mode BatchNorm as separate
    /// scale-and-shift passes costs about twice the convolutions on the CPU backend.
    pub fn folded(&self) -> FoldedPrefix<B> {
        FoldedPrefix::new(self, self.block_count())
    }

    /// Pooled features through a folded prefix, the blocks after it in eval mode.
    pub fn features_folded(&self, folded: &FoldedPrefix<B>, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let modes = super::BnModes::all(super::BnMode::Eval);
        self.features_after(folded.forward(images), folded.blocks(), &modes)
    }

    /// Logits as [`ResNet::forward`] gives them, through a fold of this model's weights.
    pub fn forward_folded(&self, folded: &FoldedPrefix<B>, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head(self.features_folded(folded, images))
    }
}

#[cfg(test)]
mod tests {
    use burn::module::RunningState;
    use burn::tensor::Distribution;

    use super::*;
    use crate::backend::Cpu;
    use crate::model::{Arch, BnMode, BnModes, ResNetConfig, TensorVisitor};

    /// Gives every BatchNorm running statistics and affine parameters away from 0 and 1,
    /// so folding has something to get wrong.
    struct Perturb;
    impl TensorVisitor<Cpu> for Perturb {
        fn param<const D: usize>(&mut self, name: &str, p: &mut Param<Tensor<Cpu, D>>, _: bool) {
            if name.contains("bn") || name.contains("downsample.1") {
                let t = p.val();
                let noise = Tensor::random(t.shape(), Distribution::Uniform(0.5, 1.5), &t.device());
                *p = Param::from_tensor(t * noise - 0.1);
            }
        }
        fn buffer(&mut self, name: &str, s: &mut RunningState<Tensor<Cpu, 1>>) {
            if name.ends_with("num_batches_tracked") {
                return;
            }
            let t = s.value();
            let low = if name.ends_with("running_var") { 0.5 } else { -0.3 };
            *s = RunningState::new(Tensor::random(
                t.shape(),
                Distribution::Uniform(low, low + 1.0),
                &t.device(),
            ));
        }
    }

    #[test]
    fn folded_prefix_gives_the_same_logits_as_batchnorm_in_eval_mode() {
        let device = Default::default();
        for (arch, blocks) in [(Arch::ResNet18, 4), (Arch::ResNet50, 7), (Arch::ResNet18, 0)] {
            let mut model = ResNetConfig::new(arch, 10).init::<Cpu>(&device);
            model.walk_tensors(&mut Perturb);
            let images = Tensor::<Cpu, 4>::random([2, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
            let modes = BnModes::all(BnMode::Eval);
            let reference = model.head(model.features(images.clone(), &modes));
            let prefix = FoldedPrefix::new(&model, blocks);
            assert_eq!(prefix.blocks(), blocks);
            let folded = model.head(model.features_after(prefix.forward(images.clone()), blocks, &modes));
            let diff = (reference.clone() - folded).abs().max().into_scalar();
            let scale = reference.abs().max().into_scalar();
            assert!(
                diff <= 1e-4 * scale.max(1.0),
                "{arch:?} {blocks} blocks: max diff {diff} (logits up to {scale})"
            );
        }
    }
}
