//! A walk over every tensor of the model under its torchvision state-dict name.
//!
//! Loading, exporting and parameter counting all use this one walk, so the names
//! can never drift apart between them.

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;

/// Receives each tensor of a model with its torchvision name: trained parameters
/// through `param`, BatchNorm running statistics through `buffer`.
///
/// `transposed` is true where Burn stores the tensor transposed relative to PyTorch
/// (`Linear` keeps `[in, out]`, PyTorch `[out, in]`).
pub trait TensorVisitor<B: Backend> {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, transposed: bool);
    fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<B, 1>>);
}

pub(crate) fn visit_conv<B: Backend, V: TensorVisitor<B>>(v: &mut V, prefix: &str, conv: &mut Conv2d<B>) {
    v.param(&format!("{prefix}.weight"), &mut conv.weight, false);
    if let Some(bias) = conv.bias.as_mut() {
        v.param(&format!("{prefix}.bias"), bias, false);
    }
}

pub(crate) fn visit_bn<B: Backend, V: TensorVisitor<B>>(v: &mut V, prefix: &str, bn: &mut BatchNorm<B>) {
    v.param(&format!("{prefix}.weight"), &mut bn.gamma, false);
    v.param(&format!("{prefix}.bias"), &mut bn.beta, false);
    v.buffer(&format!("{prefix}.running_mean"), &mut bn.running_mean);
    v.buffer(&format!("{prefix}.running_var"), &mut bn.running_var);
}

pub(crate) fn visit_linear<B: Backend, V: TensorVisitor<B>>(v: &mut V, prefix: &str, linear: &mut Linear<B>) {
    v.param(&format!("{prefix}.weight"), &mut linear.weight, true);
    if let Some(bias) = linear.bias.as_mut() {
        v.param(&format!("{prefix}.bias"), bias, false);
    }
}
