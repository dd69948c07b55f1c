//! Convolution through [`KilnBackend`], so that kiln's own kernels run where they beat Burn's:
//! on Flex, the convolution is im2col + gemm ([`forward`]), and so is the weight gradient
//! ([`weight_grad`]), the input gradient gemm + col2im ([`input_grad`]); everywhere else, Burn's.

pub(crate) mod autodiff;
mod crop;
pub(crate) mod flex;
pub mod forward;
pub mod geometry;
pub mod grouped;
pub mod input_grad;
mod matmul;
mod patches;
mod scratch;
mod split;
#[cfg(test)]
mod test_support;
pub mod weight_grad;
pub mod winograd;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::ops::ConvOptions;

use crate::backend::{KilnBackend, float};
use crate::config::Precision;

/// `conv.forward(x)` computed in `precision`, through [`KilnBackend::kiln_conv2d`] when the
/// padding is symmetric (every convolution of a ResNet); anything else goes to Burn's module
/// unchanged. In f16 or bf16 the input, weight and bias are cast down and the output back to
/// f32, as PyTorch's autocast does: the weights stay f32 (the optimizer updates them, not
/// their rounded copies) and BatchNorm, the residual adds and the loss see f32. Under autodiff
/// each cast is a node, so gradients reach the f32 weights as f32.
pub fn conv2d<B: KilnBackend>(conv: &Conv2d<B>, x: Tensor<B, 4>, precision: Precision) -> Tensor<B, 4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
        _ => return conv.forward(x),
    };
    let options = ConvOptions::new(conv.stride, padding, conv.dilation, conv.groups);
    // `cast` leaves a tensor already in the dtype alone (no copy, no autodiff node): f32 runs
    // exactly as before.
    let dtype = compute_dtype(precision);
    let bias = conv
        .bias
        .as_ref()
        .map(|b| b.val().cast(dtype).into_primitive().tensor());
    let out = B::kiln_conv2d(
        x.cast(dtype).into_primitive().tensor(),
        conv.weight.val().cast(dtype).into_primitive().tensor(),
        bias,
        options,
    );
    float::<B, 4>(out).cast(FloatDType::F32)
}

/// The type the convolutions compute in.
fn compute_dtype(precision: Precision) -> FloatDType {
    match precision {
        Precision::F32 => FloatDType::F32,
        Precision::F16 => FloatDType::F16,
        Precision::Bf16 => FloatDType::BF16,
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    use super::test_support::assert_close;
    use super::*;
    use crate::backend::CpuTrain;

    type B = CpuTrain;

    type Grads = (Vec<f32>, Option<Vec<f32>>, Option<Vec<f32>>);

    /// Input and weight (and bias) gradients of `f(conv, x)` summed against a fixed random
    /// projection, so that every output element's gradient matters: through kiln's
    /// [`conv2d`] in a precision, or (`None`) Burn's module. Each comes back as f32 or fails.
    fn grads(conv: &Conv2d<B>, x: &Tensor<B, 4>, kiln: Option<Precision>) -> Grads {
        let x = x.clone().require_grad();
        let out = match kiln {
            Some(precision) => conv2d(conv, x.clone(), precision),
            None => conv.forward(x.clone()),
        };
        // The same projection on both paths: a fixed pattern, made only from the output's size.
        let n = out.shape().num_elements();
        let projection: Vec<f32> = (0..n).map(|i| ((i * 7919 % 211) as f32 / 105.0) - 1.0).collect();
        let projection = Tensor::<B, 1>::from_floats(projection.as_slice(), &out.device()).reshape(out.dims());
        let grads = (out * projection).sum().backward();
        let of = |t: Option<Tensor<<B as burn::tensor::backend::AutodiffBackend>::InnerBackend, 4>>| {
            t.map(|t| t.into_data().to_vec::<f32>().unwrap())
        };
        let dx = of(x.grad(&grads)).expect("the input requires a gradient");
        let dw = of(conv.weight.val().grad(&grads));
        let db = conv
            .bias
            .as_ref()
            .and_then(|b| b.val().grad(&grads))
            .map(|t| t.into_data().to_vec::<f32>().unwrap());
        (dx, dw, db)
    }

    /// A padded 3x3 stride-1 convolution with bias, `[in, out]` channels, and a normal
    /// random batch of two `side` x `side` images for it.
    fn padded_3x3(channels: [usize; 2], side: usize) -> (Conv2d<B>, Tensor<B, 4>) {
        let device = Default::default();
        let conv = Conv2dConfig::new(channels, [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::random([2, channels[0], side, side], Distribution::Normal(0.0, 1.0), &device);
        (conv, x)
    }

    #[test]
    fn gradients_match_burns_convolution() {
        let device = Default::default();
        // A padded strided 3x3 without bias (a ResNet conv) and a 7x7 stem-like one with bias.
        let convs = [
            Conv2dConfig::new([4, 6], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false),
            Conv2dConfig::new([3, 5], [7, 7])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3)),
        ];
        for config in convs {
            let conv: Conv2d<B> = config.init(&device);
            let x = Tensor::<B, 4>::random([2, config.channels[0], 11, 9], Distribution::Normal(0.0, 1.0), &device);
            let (dx, dw, db) = grads(&conv, &x, Some(Precision::F32));
            let (rx, rw, rb) = grads(&conv, &x, None);
            assert_close("input gradient", &dx, &rx);
            assert_close("weight gradient", &dw.unwrap(), &rw.unwrap());
            assert_eq!(
                db.is_some(),
                config.bias,
                "a bias gradient exactly when there is a bias"
            );
            if let (Some(db), Some(rb)) = (db, rb) {
                assert_close("bias gradient", &db, &rb);
            }
        }
    }

    #[test]
    fn gradients_through_winograd_match_burns_convolution() {
        // 16x16 with a 3x3 stride-1 kernel: large enough for kiln to take Winograd's way.
        let (conv, x) = padded_3x3([4, 6], 16);
        let geometry = geometry::ConvGeometry::square(2, [4, 6], 16, [3, 1, 1]);
        assert!(winograd::chosen(&geometry), "this convolution must take Winograd's way");
        let (dx, dw, db) = grads(&conv, &x, Some(Precision::F32));
        let (rx, rw, rb) = grads(&conv, &x, None);
        assert_close("input gradient", &dx, &rx);
        assert_close("weight gradient", &dw.unwrap(), &rw.unwrap());
        assert_close("bias gradient", &db.unwrap(), &rb.unwrap());
    }

    #[test]
    fn a_frozen_weight_gets_no_gradient_but_the_input_still_does() {
        let (conv, x) = padded_3x3([3, 4], 6);
        let conv = conv.no_grad();
        let (dx, dw, _) = grads(&conv, &x, Some(Precision::F32));
        let (rx, ..) = grads(&conv, &x, None);
        assert!(dw.is_none(), "a frozen weight must not get a gradient");
        assert_close("input gradient", &dx, &rx);
    }

    #[test]
    fn half_precision_computes_in_half_and_hands_back_f32() {
        let (conv, x) = padded_3x3([8, 6], 10);
        let exact = conv2d(&conv, x.clone(), Precision::F32);
        let (rx, rw, rb) = grads(&conv, &x, Some(Precision::F32));
        // f16 keeps 11 significant bits, bf16 8: relative errors around 1e-3 and 1e-2.
        for (precision, tolerance) in [(Precision::F16, 4e-3), (Precision::Bf16, 3e-2)] {
            let out = conv2d(&conv, x.clone(), precision);
            assert_eq!(
                out.dtype(),
                burn::tensor::DType::F32,
                "{precision}: the output comes back as f32"
            );
            let scale = exact.clone().abs().max().into_scalar();
            let diff = (out - exact.clone()).abs().max().into_scalar();
            assert!(
                diff <= tolerance * scale,
                "{precision}: max diff {diff} against outputs up to {scale}"
            );
            assert!(
                diff > 0.0,
                "{precision}: bit-identical to f32, so it was not computed in half"
            );
            let (dx, dw, db) = grads(&conv, &x, Some(precision));
            for (what, got, want) in [
                ("input", dx, rx.clone()),
                ("weight", dw.unwrap(), rw.clone().unwrap()),
                ("bias", db.unwrap(), rb.clone().unwrap()),
            ] {
                let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
                let diff = got.iter().zip(&want).fold(0f32, |m, (g, w)| m.max((g - w).abs()));
                assert!(
                    diff <= 2.0 * tolerance * scale,
                    "{precision}: {what} gradient off by {diff} (values up to {scale})"
                );
            }
        }
    }
}
