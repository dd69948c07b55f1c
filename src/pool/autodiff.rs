//! Under autodiff, a max pool over a backend with kernels of its own
//! ([`KilnBackend::OWN_KERNELS`]) is one tracked operation that keeps only its input: the
//! backward finds each window's maximum again instead of storing an index tensor.
//! Other backends keep Burn's max-pool node.

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::{FloatTensor, ModuleOps};

use super::MaxPool;
use crate::backend::KilnBackend;

#[derive(Debug)]
struct MaxPool2dBackward;

impl<B: KilnBackend> Backward<B, 1> for MaxPool2dBackward {
    type State = (NodeId, MaxPool);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, pool) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::kiln_max_pool2d_x_grad(x, grad, pool));
        }
    }
}

pub fn max_pool2d<B: KilnBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    pool: MaxPool,
) -> FloatTensor<Autodiff<B, C>> {
    if !B::OWN_KERNELS {
        return Autodiff::<B, C>::max_pool2d(x, pool.kernel, pool.stride, pool.padding, [1, 1], false);
    }
    match MaxPool2dBackward
        .prepare::<C>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let out = B::kiln_max_pool2d(x.primitive, pool);
            prep.finish((x_state, pool), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(B::kiln_max_pool2d(x.primitive, pool)),
    }
}
