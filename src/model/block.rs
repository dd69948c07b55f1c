use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;

use super::arch::BlockKind;
use super::named::{TensorVisitor, visit_bn, visit_conv};
use super::norm::{BnMode, batch_norm};
use crate::activation::{add_relu, relu};
use crate::backend::KilnBackend;
use crate::config::Precision;
use crate::conv::conv2d;

/// One residual block: torchvision's `BasicBlock` (conv1, conv2) or `Bottleneck`
/// (conv1, conv2, conv3), with stride on the 3x3 conv as in torchvision's ResNet v1.5.
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    pub conv1: Conv2d<B>,
    pub bn1: BatchNorm<B>,
    pub conv2: Conv2d<B>,
    pub bn2: BatchNorm<B>,
    pub conv3: Option<Conv2d<B>>,
    pub bn3: Option<BatchNorm<B>>,
    pub downsample: Option<Downsample<B>>,
}

/// The projection shortcut, torchvision's `downsample.0` (conv) and `downsample.1` (bn).
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    pub conv: Conv2d<B>,
    pub bn: BatchNorm<B>,
}

/// torchvision initialises convolutions with Kaiming-normal over fan-out (ReLU gain).
pub(crate) fn conv<B: Backend>(
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([input, output], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            kernel / 2,
            kernel / 2,
            kernel / 2,
            kernel / 2,
        ))
        .with_bias(false)
        .with_initializer(Initializer::KaimingNormal {
            gain: 2f64.sqrt(),
            fan_out_only: true,
        })
        .init(device)
}

pub(crate) fn bn<B: Backend>(channels: usize, device: &B::Device) -> BatchNorm<B> {
    BatchNormConfig::new(channels).init(device)
}

impl<B: Backend> Block<B> {
    /// A block taking `input` channels, `width` wide inside, striding by `stride`.
    pub fn new(kind: BlockKind, input: usize, width: usize, stride: usize, device: &B::Device) -> Self {
        let output = width * kind.expansion();
        let downsample = (stride != 1 || input != output).then(|| Downsample {
            conv: conv(input, output, 1, stride, device),
            bn: bn(output, device),
        });
        match kind {
            BlockKind::Basic => Block {
                conv1: conv(input, width, 3, stride, device),
                bn1: bn(width, device),
                conv2: conv(width, width, 3, 1, device),
                bn2: bn(width, device),
                conv3: None,
                bn3: None,
                downsample,
            },
            BlockKind::Bottleneck => Block {
                conv1: conv(input, width, 1, 1, device),
                bn1: bn(width, device),
                conv2: conv(width, width, 3, stride, device),
                bn2: bn(width, device),
                conv3: Some(conv(width, output, 1, 1, device)),
                bn3: Some(bn(output, device)),
                downsample,
            },
        }
    }

    pub(crate) fn walk_tensors<V: TensorVisitor<B>>(&mut self, v: &mut V, prefix: &str) {
        visit_conv(v, &format!("{prefix}.conv1"), &mut self.conv1);
        visit_bn(v, &format!("{prefix}.bn1"), &mut self.bn1);
        visit_conv(v, &format!("{prefix}.conv2"), &mut self.conv2);
        visit_bn(v, &format!("{prefix}.bn2"), &mut self.bn2);
        if let Some(conv3) = self.conv3.as_mut() {
            visit_conv(v, &format!("{prefix}.conv3"), conv3);
        }
        if let Some(bn3) = self.bn3.as_mut() {
            visit_bn(v, &format!("{prefix}.bn3"), bn3);
        }
        if let Some(d) = self.downsample.as_mut() {
            visit_conv(v, &format!("{prefix}.downsample.0"), &mut d.conv);
            visit_bn(v, &format!("{prefix}.downsample.1"), &mut d.bn);
        }
    }
}

impl<B: KilnBackend> Block<B> {
    /// The block's output; its convolutions compute in `precision` (see [`conv2d`]).
    pub fn forward(&self, x: Tensor<B, 4>, mode: BnMode, precision: Precision) -> Tensor<B, 4> {
        let conv = |c: &Conv2d<B>, x: Tensor<B, 4>| conv2d(c, x, precision);
        let identity = match &self.downsample {
            Some(d) => batch_norm(&d.bn, conv(&d.conv, x.clone()), mode),
            None => x.clone(),
        };
        let out = relu(batch_norm(&self.bn1, conv(&self.conv1, x), mode));
        let mut out = batch_norm(&self.bn2, conv(&self.conv2, out), mode);
        if let (Some(conv3), Some(bn3)) = (&self.conv3, &self.bn3) {
            out = batch_norm(bn3, conv(conv3, relu(out)), mode);
        }
        add_relu(out, identity)
    }
}
