//! kiln's own convolution weight gradient against Burn's on the CPU: for each 3x3 convolution
//! shape of ResNet-18 at 224 px, batch 8, it times Flex's `conv2d_weight_backward` (Burn's
//! default: a convolution over batch/channel-swapped views) against kiln's im2col + gemm
//! (`kiln::conv::weight_grad`, what training on Flex uses), and checks both give the same gradient.
//!
//! cargo bench --bench conv_grad -- [--batch 8] [--repeat 5]
//!
//! Figures go to BENCHMARKS.md, never into timed test assertions.

use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::ops::{ConvOptions, ModuleOps};
use burn::tensor::{Distribution, Tensor, TensorPrimitive};
use kiln::conv::geometry::ConvGeometry;
use kiln::conv::weight_grad::conv2d_weight_grad;

/// (input channels, output channels, input side, stride) of ResNet-18's 3x3 convolutions.
const SHAPES: [(usize, usize, usize, usize); 7] = [
    (64, 64, 56, 1),
    (64, 128, 56, 2),
    (128, 128, 28, 1),
    (128, 256, 28, 2),
    (256, 256, 14, 1),
    (256, 512, 14, 2),
    (512, 512, 7, 1),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut batch, mut repeat) = (8usize, 5usize);
    while let Some(a) = args.next() {
        let mut value = || -> usize { args.next().and_then(|v| v.parse().ok()).expect("a number") };
        match a.as_str() {
            "--batch" => batch = value(),
            "--repeat" => repeat = value(),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    println!("batch {batch}, median of {repeat}; ms per weight gradient");
    println!("| in | out | side | stride | Burn (Flex) ms | im2col + gemm ms | speed-up | max rel. diff |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut total_burn, mut total_own) = (0.0, 0.0);
    for (cin, cout, side, stride) in SHAPES {
        let out_side = (side + 2 - 3) / stride + 1;
        let device = Default::default();
        let x = Tensor::<Flex, 4>::random([batch, cin, side, side], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<Flex, 4>::random([cout, cin, 3, 3], Distribution::Normal(0.0, 1.0), &device);
        let dy = Tensor::<Flex, 4>::random(
            [batch, cout, out_side, out_side],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let burn_grad = || {
            let options = ConvOptions::new([stride, stride], [1, 1], [1, 1], 1);
            let g = Flex::conv2d_weight_backward(
                x.clone().into_primitive().tensor(),
                w.clone().into_primitive().tensor(),
                dy.clone().into_primitive().tensor(),
                options,
            );
            Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(g))
                .into_data()
                .into_vec::<f32>()
                .unwrap()
        };
        let xs = x.to_data().into_vec::<f32>().unwrap();
        let dys = dy.to_data().into_vec::<f32>().unwrap();
        let geometry = ConvGeometry {
            batch,
            in_channels: cin,
            out_channels: cout,
            input: [side, side],
            kernel: [3, 3],
            stride: [stride, stride],
            padding: [1, 1],
        };
        let own_grad = || conv2d_weight_grad(&geometry, &xs, &dys);
        let (burn_ms, reference) = median_ms(repeat, burn_grad);
        let (own_ms, own) = median_ms(repeat, own_grad);
        let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = reference.iter().zip(&own).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
        total_burn += burn_ms;
        total_own += own_ms;
        println!(
            "| {cin} | {cout} | {side} | {stride} | {burn_ms:.1} | {own_ms:.1} | {:.2}x | {diff:.1e} |",
            burn_ms / own_ms
        );
    }
    println!(
        "all seven: Burn {total_burn:.0} ms, im2col + gemm {total_own:.0} ms ({:.2}x)",
        total_burn / total_own
    );
}

fn median_ms<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = f(); // warm-up, and the value to compare
    let mut times: Vec<f64> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            out = f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], out)
}
