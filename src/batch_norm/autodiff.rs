//! Under autodiff, a training BatchNorm over a backend with kernels of its own
//! ([`KilnBackend::OWN_KERNELS`]) is one tracked operation that keeps its input, γ and the
//! batch statistics, and takes all three gradients from one call to the inner backend.
//! Other backends keep Burn's ops, which Burn differentiates.

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::prelude::*;
use burn::tensor::ops::FloatTensor;

use super::{Normalised, burn_batch_norm_train};
use crate::backend::{KilnBackend, float};

#[derive(Debug)]
struct BatchNormBackward;

/// The input's checkpoint, γ, the batch mean and variance, ε.
type State<B> = (NodeId, FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, f64);

impl<B: KilnBackend> Backward<B, 3> for BatchNormBackward {
    type State = State<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        let (x_state, gamma, mean, var, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let (dx, d_gamma, d_beta) = B::kiln_batch_norm_grads(
            float::<B, 4>(x),
            float(gamma),
            (float(mean), float(var)),
            epsilon,
            float(dy),
        );
        for (node, grad) in [
            (node_x, dx.into_primitive().tensor()),
            (node_gamma, d_gamma.into_primitive().tensor()),
            (node_beta, d_beta.into_primitive().tensor()),
        ] {
            if let Some(node) = node {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

pub fn batch_norm_train<B: KilnBackend, C: CheckpointStrategy>(
    x: Tensor<Autodiff<B, C>, 4>,
    gamma: Tensor<Autodiff<B, C>, 1>,
    beta: Tensor<Autodiff<B, C>, 1>,
    epsilon: f64,
) -> Normalised<Autodiff<B, C>> {
    if !B::OWN_KERNELS {
        return burn_batch_norm_train(x, gamma, beta, epsilon);
    }
    let [x, gamma, beta] = [
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.into_primitive().tensor(),
    ];
    let (y, mean, var) = B::kiln_batch_norm_train(
        float::<B, 4>(x.primitive.clone()),
        float(gamma.primitive.clone()),
        float(beta.primitive.clone()),
        epsilon,
    );
    let y = y.into_primitive().tensor();
    let y = match BatchNormBackward
        .prepare::<C>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let state = (
                x_state,
                gamma.primitive,
                mean.clone().into_primitive().tensor(),
                var.clone().into_primitive().tensor(),
                epsilon,
            );
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    (float(y), Tensor::from_inner(mean), Tensor::from_inner(var))
}
