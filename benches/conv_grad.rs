//! Would kiln's own convolution weight gradient beat Burn's on the CPU? An experiment, not a
//! kiln feature: for each 3x3 convolution shape of ResNet-18 at 224 px, batch 8, it times
//! Flex's `conv2d_weight_backward` (Burn's default: a convolution over batch/channel-swapped
//! views) against im2col + one `gemm` per image, and checks that both give the same gradient.
//!
//! cargo bench --bench conv_grad -- [--batch 8] [--repeat 5]
//!
//! Figures go to BENCHMARKS.md, never into timed test assertions.

use std::time::Instant;

use burn::backend::Flex;
use burn::tensor::ops::{ConvOptions, ModuleOps};
use burn::tensor::{Distribution, Tensor, TensorPrimitive};

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
        let own_grad = || weight_grad(&xs, &dys, batch, cin, cout, side, out_side, stride);
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

/// dW[co, ci, ky, kx] = sum over images and output pixels of dY[n, co, p] * x[n, ci, p + k]:
/// per image, the 3x3 patches of x as columns (im2col), then dW += dY_n (cout x P) x cols^T.
#[allow(clippy::too_many_arguments)]
fn weight_grad(
    x: &[f32],
    dy: &[f32],
    batch: usize,
    cin: usize,
    cout: usize,
    side: usize,
    out_side: usize,
    stride: usize,
) -> Vec<f32> {
    let p = out_side * out_side;
    let ck = cin * 9;
    let mut cols = vec![0f32; ck * p];
    let mut dw = vec![0f32; cout * ck];
    for n in 0..batch {
        let image = &x[n * cin * side * side..(n + 1) * cin * side * side];
        for ci in 0..cin {
            let plane = &image[ci * side * side..(ci + 1) * side * side];
            for ky in 0..3 {
                for kx in 0..3 {
                    let row = &mut cols[((ci * 3 + ky) * 3 + kx) * p..][..p];
                    for oy in 0..out_side {
                        let iy = (oy * stride + ky) as isize - 1;
                        let out_row = &mut row[oy * out_side..(oy + 1) * out_side];
                        if iy < 0 || iy >= side as isize {
                            out_row.fill(0.0);
                            continue;
                        }
                        let src = &plane[iy as usize * side..(iy as usize + 1) * side];
                        for (ox, v) in out_row.iter_mut().enumerate() {
                            let ix = (ox * stride + kx) as isize - 1;
                            *v = if ix < 0 || ix >= side as isize {
                                0.0
                            } else {
                                src[ix as usize]
                            };
                        }
                    }
                }
            }
        }
        let dy_n = &dy[n * cout * p..(n + 1) * cout * p];
        // SAFETY: the slices hold m x k, k x n and m x n values with the strides given.
        unsafe {
            gemm::gemm(
                cout,
                ck,
                p,
                dw.as_mut_ptr(),
                1,
                ck as isize,
                n > 0,
                dy_n.as_ptr(),
                1,
                p as isize,
                cols.as_ptr(),
                p as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
    }
    dw
}
