//! Under autodiff, ReLU and add + ReLU over a backend with kernels of its own
//! ([`KilnBackend::OWN_KERNELS`]) are one tracked operation each that keeps its output; the
//! backward masks the gradient by it once, and add + ReLU hands the same masked gradient to
//! both of its inputs. Other backends keep Burn's nodes.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::TensorMetadata;
use burn::tensor::ops::{ActivationOps, FloatTensor, FloatTensorOps};

use crate::backend::KilnBackend;

#[derive(Debug)]
struct ReluBackward;

#[derive(Debug)]
struct AddReluBackward;

impl<B: KilnBackend> Backward<B, 1> for ReluBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            grads.register::<B>(node.id, B::kiln_relu_grad(ops.state, grad));
        }
    }
}

impl<B: KilnBackend> Backward<B, 2> for AddReluBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let grad = B::kiln_relu_grad(ops.state, grad);
        for node in ops.parents.into_iter().flatten() {
            grads.register::<B>(node.id, grad.clone());
        }
    }
}

pub fn relu<B: KilnBackend, C: CheckpointStrategy>(x: FloatTensor<Autodiff<B, C>>) -> FloatTensor<Autodiff<B, C>> {
    if !B::OWN_KERNELS {
        return Autodiff::<B, C>::relu(x);
    }
    let out = B::kiln_relu(x.primitive);
    match ReluBackward.prepare::<C>([x.node]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}

pub fn add_relu<B: KilnBackend, C: CheckpointStrategy>(
    a: FloatTensor<Autodiff<B, C>>,
    b: FloatTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    // Differing shapes broadcast, and each input's gradient would need summing back.
    if !B::OWN_KERNELS || a.primitive.shape() != b.primitive.shape() {
        return Autodiff::<B, C>::relu(Autodiff::<B, C>::float_add(a, b));
    }
    let out = B::kiln_add_relu(a.primitive, b.primitive);
    match AddReluBackward
        .prepare::<C>([a.node, b.node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    }
}
