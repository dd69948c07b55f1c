//! A model's BatchNorm running statistics, kept aside for one step. A training forward moves
//! them before anyone knows whether the step will be applied; when it is not (its gradients
//! are not finite), they go back, so that "the weights before this step" includes them. A
//! diverged forward's batch statistics are inf or NaN and would poison every later one.

use burn::module::{Param, RunningState};
use burn::prelude::*;

use super::{ResNet, TensorVisitor};

pub struct RunningStats<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> RunningStats<B> {
    /// The statistics as they stand, in the model's walk order.
    pub fn of(model: &mut ResNet<B>) -> Self {
        let mut take = Take(Vec::new());
        model.walk_tensors(&mut take);
        Self(take.0)
    }

    /// Puts the statistics back into the model they were taken from.
    pub fn restore(self, model: &mut ResNet<B>) {
        let count = self.0.len();
        let mut put = Put(self.0.into_iter());
        model.walk_tensors(&mut put);
        assert!(
            put.0.next().is_none(),
            "restored into a model without {count} statistics"
        );
    }
}

struct Take<B: Backend>(Vec<Tensor<B, 1>>);

impl<B: Backend> TensorVisitor<B> for Take<B> {
    fn param<const D: usize>(&mut self, _: &str, _: &mut Param<Tensor<B, D>>, _: bool) {}

    fn buffer(&mut self, _: &str, state: &mut RunningState<Tensor<B, 1>>) {
        // `value` alone would miss the last forward's update, which waits for the next read.
        self.0.push(state.value_sync());
    }
}

struct Put<I>(I);

impl<B: Backend, I: Iterator<Item = Tensor<B, 1>>> TensorVisitor<B> for Put<I> {
    fn param<const D: usize>(&mut self, _: &str, _: &mut Param<Tensor<B, D>>, _: bool) {}

    fn buffer(&mut self, name: &str, state: &mut RunningState<Tensor<B, 1>>) {
        let kept = self.0.next().unwrap_or_else(|| panic!("no statistics kept for {name}"));
        // `update` first folds what this step's forward left pending into the value, then queues
        // `kept`; the read makes `kept` the value. (One thread trains, so nothing else is pending.)
        state.update(kept);
        let _ = state.value_sync();
    }
}
