use super::super::geometry::TestCase;
use super::super::test_support::{assert_close, at_test_batches, burn_forward, burn_grads, random};
use super::*;

/// Padded 3x3 stride-1 convolutions: sides that are and are not multiples of the tile
/// (tiles overhanging the edge), a single tile, a one-pixel-high image, batches of one image
/// (the work split over the threads), three, and more than there are threads (groups side by
/// side); 17 x 19 channels make a kernel matrix whose sides are no multiple of anything.
fn geometries() -> Vec<ConvGeometry> {
    let shapes = [
        [4, 7, 6, 5],
        [3, 5, 2, 2],
        [2, 3, 1, 4],
        [5, 4, 7, 7],
        [6, 2, 3, 8],
        [8, 8, 12, 9],
        [17, 19, 5, 6],
    ];
    let cases: Vec<TestCase> = shapes.map(|shape| ([3, 3], [1, 1], [1, 1], shape)).to_vec();
    at_test_batches(&cases)
}

#[test]
fn the_forward_convolution_matches_burns_with_and_without_bias() {
    for scheme in [F2, F4] {
        for g in geometries() {
            let (x, w) = (random(g.input_shape(), 11), random(g.weight_shape(), 12));
            let bias = random([g.out_channels, 1, 1, 1], 13);
            for bias in [None, Some(bias.as_slice())] {
                let want = burn_forward(&g, &x, &w, bias);
                let got = forward_with(scheme, &g, &x, &w, bias);
                assert_close(&format!("F({}) {g:?}, bias {}", scheme.m, bias.is_some()), &got, &want);
            }
        }
    }
}

#[test]
fn both_gradients_match_burns() {
    for scheme in [F2, F4] {
        for g in geometries() {
            let (x, w, dy) = (
                random(g.input_shape(), 14),
                random(g.weight_shape(), 15),
                random(g.output_shape(), 16),
            );
            let (dx, dw) = burn_grads(&g, &x, &w, &dy);
            let what = |grad: &str| format!("F({}) {g:?} {grad} gradient", scheme.m);
            assert_close(&what("input"), &input_grad_with(scheme, &g, &w, &dy), &dx);
            assert_close(&what("weight"), &weight_grad_with(scheme, &g, &x, &dy), &dw);
        }
    }
}

/// ⟨a, b⟩ in f64.
fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(a, b)| *a as f64 * *b as f64).sum()
}

#[test]
fn each_backward_transform_is_the_adjoint_of_its_forward_one() {
    // ⟨T(a), b⟩ = ⟨a, Tᵀ(b)⟩ for the output transforms (the kernels' two are one matrix,
    // G ⊗ G, and its transpose).
    for scheme in [F2, F4] {
        let positions = scheme.positions();
        for size in [[5, 7], [4, 4], [1, 3], [9, 8]] {
            let tiling = Tiling { size, scheme };
            let stride = tiling.count();
            let m = random([1, 1, positions, stride], 19);
            let dy = random([1, 1, size[0], size[1]], 20);
            let mut y = vec![0f32; tiling.plane_len()];
            tiles::output_plane(tiling, &m, stride, 0.0, &mut y, &mut Work::default());
            let mut dm = vec![0f32; m.len()];
            tiles::output_grad_tiles(tiling, &dy, &mut dm, stride, &mut Work::default());
            let (lhs, rhs) = (dot(&y, &dy), dot(&m, &dm));
            assert!(
                (lhs - rhs).abs() < 1e-3,
                "F({}) {size:?}: {lhs} against {rhs}",
                scheme.m
            );
        }
    }
}

#[test]
fn groups_images_deep_in_the_network_and_keeps_large_ones_alone() {
    let threads = rayon::current_num_threads();
    let g = |side: usize, batch: usize| ConvGeometry::square(batch, [8, 8], side, [3, 1, 1]);
    let plan_f2 = |g: ConvGeometry| {
        plan(
            Tiling {
                size: g.input,
                scheme: F2,
            },
            &g,
        )
    };
    assert_eq!(plan_f2(g(56, 4 * threads)), (1, true), "784 tiles an image");
    assert_eq!(
        plan_f2(g(7, 4 * threads)),
        (4, true),
        "16 tiles an image: the thread's share"
    );
    assert_eq!(
        plan_f2(g(14, 64 * threads)),
        (11, true),
        "49 tiles: 11 images reach 512 columns"
    );
    if threads > 1 {
        assert_eq!(
            plan_f2(g(56, threads - 1)),
            (threads - 1, false),
            "too few images to share out"
        );
    }
}

#[test]
fn kiln_takes_the_stride_1_3x3s_from_14x14_and_leaves_the_rest_to_im2col() {
    let g = |side: usize, kernel: usize, stride: usize, padding: usize| {
        ConvGeometry::square(8, [64, 64], side, [kernel, stride, padding])
    };
    assert!(chosen(&g(56, 3, 1, 1)) && chosen(&g(14, 3, 1, 1)));
    assert!(!chosen(&g(7, 3, 1, 1)), "7x7: the multiplies are too thin");
    assert!(!chosen(&g(56, 3, 2, 1)), "a strided 3x3");
    assert!(!chosen(&g(56, 1, 1, 0)), "a pointwise convolution");
    assert!(!chosen(&g(224, 7, 2, 3)), "the stem");
}
