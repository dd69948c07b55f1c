//! Under autodiff, a convolution over a backend with kernels of its own
//! ([`KilnBackend::OWN_KERNELS`]) is one tracked operation whose backward takes its input and
//! weight gradients from the inner backend's [`KilnBackend`] methods; a bias is added as an
//! ordinary tracked sum. Other backends keep Burn's convolution node.

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::TensorMetadata;
use burn::tensor::ops::{ConvOptions, FloatTensor, FloatTensorOps, ModuleOps};

use crate::backend::KilnBackend;

#[derive(Debug)]
struct Conv2dBackward;

impl<B: KilnBackend> Backward<B, 2> for Conv2dBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        // A frozen weight or an image batch has no node: its gradient is never computed.
        if let Some(node) = node_x {
            let dx = B::kiln_conv2d_x_grad(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            grads.register::<B>(node.id, B::kiln_conv2d_weight_grad(x, weight, grad, options));
        }
    }
}

pub fn conv2d<B: KilnBackend, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    bias: Option<FloatTensor<Autodiff<B, C>>>,
    options: ConvOptions<2>,
) -> FloatTensor<Autodiff<B, C>> {
    type A<B, C> = Autodiff<B, C>;
    if !B::OWN_KERNELS {
        return A::<B, C>::conv2d(x, weight, bias, options);
    }
    let out = match Conv2dBackward
        .prepare::<C>([x.node.clone(), weight.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let out = B::kiln_conv2d(x.primitive, weight.primitive, None, options.clone());
            prep.finish((x_state, weight_state, options), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(B::kiln_conv2d(x.primitive, weight.primitive, None, options)),
    };
    match bias {
        Some(bias) => {
            let channels = bias.primitive.shape()[0];
            let bias = A::<B, C>::float_reshape(bias, [1, channels, 1, 1].into());
            A::<B, C>::float_add(out, bias)
        }
        None => out,
    }
}
