//! The deterministic weights of tests/fixtures/parity/make_fixtures.py, computed the same
//! way (integer hash, then one f64 expression rounded once to f32), so PyTorch and kiln
//! start from bit-identical tensors without a weight file.

use burn::module::{Param, RunningState};
use burn::prelude::*;
use kiln::model::{ResNet, TensorVisitor};

fn fnv1a(name: &str) -> u64 {
    let mut h: u64 = 2166136261;
    for b in name.bytes() {
        h ^= b as u64;
        h = (h * 16777619) % (1 << 32);
    }
    h
}

fn uniform(name: &str, i: usize) -> f64 {
    let h = fnv1a(name);
    let x = (i as u64).wrapping_mul(2654435761).wrapping_add(h) % (1 << 32);
    x as f64 / 4294967296.0
}

/// The formula's values for tensor `name` with PyTorch shape `shape`.
pub fn values(name: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|i| {
            let u = uniform(name, i);
            let v = 2.0 * u - 1.0;
            let x = if name == "input" {
                2.0 * v
            } else if name.ends_with("running_var") {
                0.5 + u
            } else if name.ends_with("running_mean") || name.ends_with(".bias") {
                0.1 * v
            } else if shape.len() == 1 {
                1.0 + 0.25 * v
            } else {
                let fan_in: usize = shape[1..].iter().product();
                v * (3.0 / fan_in as f64).sqrt()
            };
            x as f32
        })
        .collect()
}

pub fn input<B: Backend>(shape: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
    Tensor::from_data(TensorData::new(values("input", &shape), shape), device)
}

/// Fills every tensor of `model` with the formula.
pub fn fill<B: Backend>(mut model: ResNet<B>) -> ResNet<B> {
    model.walk_tensors(&mut Fill);
    model
}

struct Fill;

impl<B: Backend> TensorVisitor<B> for Fill {
    fn param<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<B, D>>, transposed: bool) {
        let device = param.device();
        let mut shape = param.shape().dims::<D>();
        if transposed {
            shape.reverse();
        }
        let t = Tensor::<B, D>::from_data(TensorData::new(values(name, &shape), shape), &device);
        let t = if transposed { t.transpose() } else { t };
        *param = Param::initialized(param.id, t);
    }

    fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<B, 1>>) {
        let value = state.value();
        let shape = value.dims();
        *state = RunningState::new(Tensor::from_data(
            TensorData::new(values(name, &shape), shape),
            &value.device(),
        ));
    }
}
