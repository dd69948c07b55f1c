//! Burn's own convolution and its gradients, the reference for kiln's kernels.

use burn::backend::Flex;
use burn::tensor::ops::{ConvOptions, FloatTensor, ModuleOps};
use burn::tensor::{Tensor, TensorPrimitive};

use super::geometry::{ConvGeometry, TEST_CASES, TestCase};
use super::grouped::Grouping;

/// Each way a batch can be spread over multiplies: each image alone, one multiply per thread,
/// in pairs (a short last group for an odd batch), all at once.
pub fn groupings(g: &ConvGeometry) -> [Grouping; 4] {
    [
        Grouping::PerImage,
        Grouping::PerThread,
        Grouping::Together(2),
        Grouping::Together(g.batch),
    ]
}

/// Each of [`TEST_CASES`] at batch 1 (one image: each multiply split over the cores), 3, and
/// one more than there are threads (whole images per thread, unevenly).
pub fn geometries() -> Vec<ConvGeometry> {
    at_test_batches(&TEST_CASES)
}

/// Each of `cases` at the batches of [`geometries`].
pub fn at_test_batches(cases: &[TestCase]) -> Vec<ConvGeometry> {
    let batches = [1, 3, rayon::current_num_threads() + 1];
    cases
        .iter()
        .flat_map(|&(kernel, stride, padding, [in_channels, out_channels, h, w])| {
            batches.map(|batch| ConvGeometry {
                batch,
                in_channels,
                out_channels,
                input: [h, w],
                kernel,
                stride,
                padding,
            })
        })
        .collect()
}

/// Uniform values in [-1, 1) for a tensor of `shape`, row-major, the same for the same seed.
pub fn random(shape: [usize; 4], seed: u64) -> Vec<f32> {
    crate::test_draws::draws(shape.iter().product(), seed, 0.0, 1.0)
}

/// Flex's `conv2d_x_backward` and `conv2d_weight_backward` for `g`, row-major.
pub fn burn_grads(g: &ConvGeometry, x: &[f32], w: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let x = tensor(x, g.input_shape());
    let w = tensor(w, g.weight_shape());
    let dy = tensor(dy, g.output_shape());
    let options = ConvOptions::new(g.stride, g.padding, [1, 1], 1);
    let dx = Flex::conv2d_x_backward(x.clone(), w.clone(), dy.clone(), options.clone());
    let dw = Flex::conv2d_weight_backward(x, w, dy, options);
    (values(dx), values(dw))
}

/// Flex's `conv2d` for `g`, row-major.
pub fn burn_forward(g: &ConvGeometry, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let x = tensor(x, g.input_shape());
    let w = tensor(w, g.weight_shape());
    let bias = bias.map(|b| {
        Tensor::<Flex, 1>::from_floats(b, &Default::default())
            .into_primitive()
            .tensor()
    });
    let options = ConvOptions::new(g.stride, g.padding, [1, 1], 1);
    values(Flex::conv2d(x, w, bias, options))
}

/// Equal to within 1e-5 of the largest reference value.
pub fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * scale,
            "{what}: element {i} is {a}, Burn gives {b}"
        );
    }
}

fn tensor(values: &[f32], shape: [usize; 4]) -> FloatTensor<Flex> {
    Tensor::<Flex, 1>::from_floats(values, &Default::default())
        .reshape(shape)
        .into_primitive()
        .tensor()
}

fn values(t: FloatTensor<Flex>) -> Vec<f32> {
    Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(t))
        .into_data()
        .to_vec()
        .unwrap()
}
