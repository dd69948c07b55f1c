//! kiln's own convolution kernels against Burn's on the CPU: for each 3x3 convolution shape
//! of ResNet-18 at 224 px, batch 8, it times Flex's `conv2d`, `conv2d_weight_backward` (a
//! convolution over batch/channel-swapped views) and `conv2d_x_backward` (a transposed
//! convolution) against kiln's `conv::forward`, `conv::weight_grad` and `conv::input_grad`,
//! and checks that each pair gives the same values. Burn's weight gradient comes back as a
//! strided view; the row-major copy training then makes of it is not counted here.
//!
//! cargo bench --bench conv -- [--batch 8] [--repeat 5]
//!
//! With `--grouping [--size 32] [--images N]`, it instead times kiln's kernels three ways
//! (`conv::grouped::Grouping`): one multiply per image, one per thread over its share of the
//! batch, and groups of images together (as many as reach 512 columns, or N) with each
//! multiply split over the threads, on the same shapes scaled to `--size`: the figures behind
//! kiln's thresholds for grouping.
//!
//! With `--winograd [--size 32]`, it times kiln's im2col kernels (with kiln's grouping) against
//! its Winograd F(2x2, 3x3) and F(4x4, 3x3) kernels (`conv::winograd`) on the stride-1 shapes:
//! the figures behind the choice between them.
//!
//! Figures go to BENCHMARKS.md, never into timed test assertions.

use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::ops::{ConvOptions, FloatTensor, ModuleOps};
use burn::tensor::{Distribution, Tensor, TensorPrimitive};
use kiln::conv::forward::{conv2d_forward, forward_grouped_as};
use kiln::conv::geometry::ConvGeometry;
use kiln::conv::grouped::{Grouping, TOGETHER_FORWARD_UP_TO, TOGETHER_INPUT_GRAD_UP_TO};
use kiln::conv::input_grad::{conv2d_input_grad, input_grad_grouped_as};
use kiln::conv::weight_grad::{conv2d_weight_grad, weight_grad_grouped_as};
use kiln::conv::winograd;

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
    let (mut batch, mut repeat, mut size, mut grouping) = (8usize, 5usize, 224usize, false);
    let mut winograd = false;
    let mut images = None;
    while let Some(a) = args.next() {
        let mut value = || -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{a} takes a whole number")))
        };
        match a.as_str() {
            "--batch" => batch = value(),
            "--repeat" => repeat = value(),
            "--size" => size = value(),
            "--grouping" => grouping = true,
            "--winograd" => winograd = true,
            "--images" => images = Some(value()),
            "--bench" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if grouping {
        return grouping_table(batch, size, repeat, images);
    }
    if winograd {
        return winograd_table(batch, size, repeat);
    }
    println!("batch {batch}, median of {repeat}; ms per operation, Burn (Flex) against kiln");
    println!(
        "| in → out, side, stride | forward: Burn ms | kiln ms | speed-up | weight grad: Burn ms | kiln ms | speed-up | input grad: Burn ms | kiln ms | speed-up | max rel. diff |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut totals = [0.0; 6];
    for (cin, cout, side, stride) in SHAPES {
        let g = padded_3x3(batch, cin, cout, side, stride);
        let x = random(g.input_shape());
        let w = random(g.weight_shape());
        let dy = random(g.output_shape());
        let burn = |op: Op| {
            let (x, w, dy) = (primitive(&x), primitive(&w), primitive(&dy));
            let options = ConvOptions::new(g.stride, g.padding, [1, 1], 1);
            let out = match op {
                Op::Forward => Flex::conv2d(x, w, None, options),
                Op::WeightGrad => Flex::conv2d_weight_backward(x, w, dy, options),
                Op::InputGrad => Flex::conv2d_x_backward(x, w, dy, options),
            };
            Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(out))
        };
        let (xs, ws, dys) = (values(&x), values(&w), values(&dy));
        // Burn's results are read back outside the timing; kiln's kernels return host values.
        let (burn_f, ref_f) = median_ms(repeat, || burn(Op::Forward));
        let (kiln_f, own_f) = median_ms(repeat, || conv2d_forward(&g, &xs, &ws, None));
        let (burn_w, ref_w) = median_ms(repeat, || burn(Op::WeightGrad));
        let (kiln_w, own_w) = median_ms(repeat, || conv2d_weight_grad(&g, &xs, &dys));
        let (burn_x, ref_x) = median_ms(repeat, || burn(Op::InputGrad));
        let (kiln_x, own_x) = median_ms(repeat, || conv2d_input_grad(&g, &ws, &dys));
        let diff = [(ref_f, own_f), (ref_w, own_w), (ref_x, own_x)]
            .iter()
            .map(|(reference, own)| relative_difference(&values(reference), own))
            .fold(0f32, f32::max);
        let times = [burn_f, kiln_f, burn_w, kiln_w, burn_x, kiln_x];
        for (total, ms) in totals.iter_mut().zip(times) {
            *total += ms;
        }
        println!("| {cin} → {cout}, {side}, {stride} | {} {diff:.1e} |", row(times));
    }
    println!("| all seven | {} |", row(totals));
}

/// kiln's kernels with one image per multiply against `images` (or as many as reach 512
/// columns) per multiply, at `size` px.
fn grouping_table(batch: usize, size: usize, repeat: usize, images: Option<usize>) {
    println!(
        "batch {batch}, {size} px, {} threads, median of {repeat}; ms per operation: one multiply per image, one per thread (its share of the batch), groups of images together (each multiply split over the threads)",
        rayon::current_num_threads()
    );
    println!(
        "| in → out, side, stride | images together | forward: per image | per thread | together | weight grad: per image | per thread | together | input grad: per image | per thread | together |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (cin, cout, side, stride) in SHAPES {
        let side = (side * size / 224).max(1);
        let g = padded_3x3(batch, cin, cout, side, stride);
        let [x, w, dy] = [g.input_shape(), g.weight_shape(), g.output_shape()].map(|s| values(&random(s)));
        // The group kiln makes when it puts images together (whether it does is up to the thresholds).
        let images = images.unwrap_or_else(|| Grouping::together_images(&g));
        let cells: Vec<String> = [Op::Forward, Op::WeightGrad, Op::InputGrad]
            .into_iter()
            .flat_map(|op| {
                [Grouping::PerImage, Grouping::PerThread, Grouping::Together(images)].map(|grouping| {
                    let ms = median_ms(repeat, || match op {
                        Op::Forward => forward_grouped_as(grouping, &g, &x, &w, None),
                        Op::WeightGrad => weight_grad_grouped_as(grouping, &g, &x, &dy),
                        Op::InputGrad => input_grad_grouped_as(grouping, &g, &w, &dy),
                    })
                    .0;
                    format!("{ms:.1}")
                })
            })
            .collect();
        println!(
            "| {cin} → {cout}, {side}, {stride} | {images} | {} |",
            cells.join(" | ")
        );
    }
}

/// kiln's im2col kernels (grouped as kiln groups them) against its Winograd ones, F(2x2, 3x3)
/// and F(4x4, 3x3), on the stride-1 shapes at `size` px.
fn winograd_table(batch: usize, size: usize, repeat: usize) {
    println!(
        "batch {batch}, {size} px, {} threads, median of {repeat}; ms per operation: im2col, Winograd F(2x2, 3x3), F(4x4, 3x3)",
        rayon::current_num_threads()
    );
    println!(
        "| in → out, side | forward: im2col | F(2x2) | F(4x4) | weight grad: im2col | F(2x2) | F(4x4) | input grad: im2col | F(2x2) | F(4x4) | max rel. diff F(2x2), F(4x4) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut totals = [0.0; 9];
    for (cin, cout, side, _) in SHAPES.into_iter().filter(|s| s.3 == 1) {
        let side = (side * size / 224).max(1);
        let g = padded_3x3(batch, cin, cout, side, 1);
        let [x, w, dy] = [g.input_shape(), g.weight_shape(), g.output_shape()].map(|s| values(&random(s)));
        let (forward_grouping, input_grouping) = (
            Grouping::of(&g, TOGETHER_FORWARD_UP_TO),
            Grouping::of(&g, TOGETHER_INPUT_GRAD_UP_TO),
        );
        let mut times = Vec::new();
        let mut diffs = [0f32; 2];
        for op in [Op::Forward, Op::WeightGrad, Op::InputGrad] {
            let (ms, reference) = median_ms(repeat, || match op {
                Op::Forward => forward_grouped_as(forward_grouping, &g, &x, &w, None),
                Op::WeightGrad => weight_grad_grouped_as(forward_grouping, &g, &x, &dy),
                Op::InputGrad => input_grad_grouped_as(input_grouping, &g, &w, &dy),
            });
            times.push(ms);
            for (i, scheme) in [winograd::F2, winograd::F4].into_iter().enumerate() {
                let (ms, own) = median_ms(repeat, || match op {
                    Op::Forward => winograd::forward_with(scheme, &g, &x, &w, None),
                    Op::WeightGrad => winograd::weight_grad_with(scheme, &g, &x, &dy),
                    Op::InputGrad => winograd::input_grad_with(scheme, &g, &w, &dy),
                });
                times.push(ms);
                diffs[i] = diffs[i].max(relative_difference(&reference, &own));
            }
        }
        for (total, ms) in totals.iter_mut().zip(&times) {
            *total += ms;
        }
        let cells: Vec<String> = times.iter().map(|ms| format!("{ms:.1}")).collect();
        println!(
            "| {cin} → {cout}, {side} | {} | {:.1e}, {:.1e} |",
            cells.join(" | "),
            diffs[0],
            diffs[1]
        );
    }
    let cells: Vec<String> = totals.iter().map(|ms| format!("{ms:.1}")).collect();
    println!("| all four | {} | |", cells.join(" | "));
}

/// Says what was wrong and how to call the bench, and exits.
fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: cargo bench --bench conv -- [--batch 8] [--repeat 5] [--grouping [--size 224] [--images N]] [--winograd [--size 224]]"
    );
    std::process::exit(2)
}

/// A ResNet 3x3 convolution (padding 1) over a `side` x `side` input.
fn padded_3x3(batch: usize, cin: usize, cout: usize, side: usize, stride: usize) -> ConvGeometry {
    ConvGeometry {
        batch,
        in_channels: cin,
        out_channels: cout,
        input: [side, side],
        kernel: [3, 3],
        stride: [stride, stride],
        padding: [1, 1],
    }
}

/// "a | b | a/b |" for each pair of times (Burn, kiln).
fn row(times: [f64; 6]) -> String {
    times
        .chunks(2)
        .map(|pair| format!("{:.1} | {:.1} | {:.2}x |", pair[0], pair[1], pair[0] / pair[1]))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Copy)]
enum Op {
    Forward,
    WeightGrad,
    InputGrad,
}

fn random(shape: [usize; 4]) -> Tensor<Flex, 4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default())
}

fn primitive(t: &Tensor<Flex, 4>) -> FloatTensor<Flex> {
    t.clone().into_primitive().tensor()
}

fn values(t: &Tensor<Flex, 4>) -> Vec<f32> {
    t.to_data().into_vec().unwrap()
}

/// The largest difference, relative to the largest reference value.
fn relative_difference(reference: &[f32], other: &[f32]) -> f32 {
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    reference.iter().zip(other).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale
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
