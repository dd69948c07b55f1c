//! Kernel taps that never read inside the image. A 3x3 convolution padded by 1 over a 1x1
//! plane (ResNet's layer4 at 32 px) reads the image through its centre tap alone: the other
//! eight multiply padding, 8/9 of the work. Cropping the kernel to the taps that read
//! something gives the same convolution, smaller (here a pointwise one, without im2col).

use std::ops::Range;

use super::geometry::ConvGeometry;

/// A convolution's live taps: `geometry` is the convolution with its kernel cut down to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crop {
    pub geometry: ConvGeometry,
    /// The live kernel rows and columns of the original kernel.
    taps: [Range<usize>; 2],
    kernel: [usize; 2],
}

impl Crop {
    /// The crop of `g`, or `None` when every tap reads the image somewhere (or the cut kernel
    /// would not give the same output size with symmetric padding).
    pub fn of(g: &ConvGeometry) -> Option<Crop> {
        let taps = [0, 1].map(|d| {
            let live: Vec<usize> = (0..g.kernel[d])
                .filter(|&k| !g.valid_outputs(d, k).is_empty())
                .collect();
            // Taps between live ones stay (a large stride can leave gaps): they read zeros, as now.
            live.first().map_or(0..0, |&lo| lo..live[live.len() - 1] + 1)
        });
        if taps.iter().any(|t| t.is_empty()) || (0..2).all(|d| taps[d].len() == g.kernel[d]) {
            return None;
        }
        // The first live tap reads input row o·s + k − p: with the kernel starting there, the
        // padding shrinks by as much. Tap `p` always reads the image, so `start <= padding`.
        let geometry = ConvGeometry {
            kernel: [taps[0].len(), taps[1].len()],
            padding: [0, 1].map(|d| g.padding[d] - taps[d].start),
            ..*g
        };
        (geometry.output() == g.output()).then_some(Crop {
            geometry,
            taps,
            kernel: g.kernel,
        })
    }

    /// The live taps of `w` `[Cout, Cin, kh, kw]`, as the cropped geometry's weight.
    pub fn weights(&self, w: &[f32]) -> Vec<f32> {
        let [ys, xs] = &self.taps;
        w.chunks_exact(self.kernel[0] * self.kernel[1])
            .flat_map(|taps| {
                ys.clone()
                    .flat_map(move |ky| taps[ky * self.kernel[1]..][xs.clone()].iter().copied())
            })
            .collect()
    }

    /// The full kernel's weight gradient from the cropped one's: zero at the dead taps.
    pub fn uncrop(&self, dw: &[f32]) -> Vec<f32> {
        let [ys, xs] = &self.taps;
        let (full, cropped) = (self.kernel[0] * self.kernel[1], ys.len() * xs.len());
        let mut out = vec![0f32; dw.len() / cropped * full];
        for (taps, live) in out.chunks_exact_mut(full).zip(dw.chunks_exact(cropped)) {
            for (ky, row) in ys.clone().zip(live.chunks_exact(xs.len())) {
                taps[ky * self.kernel[1]..][xs.clone()].copy_from_slice(row);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(input: usize, kernel: usize, stride: usize, padding: usize) -> ConvGeometry {
        ConvGeometry::square(2, [2, 3], input, [kernel, stride, padding])
    }

    #[test]
    fn a_padded_3x3_over_one_pixel_is_cut_to_its_centre_a_pointwise_convolution() {
        let crop = Crop::of(&geometry(1, 3, 1, 1)).expect("eight of nine taps read padding");
        assert_eq!(crop.geometry.kernel, [1, 1]);
        assert!(crop.geometry.is_pointwise());
        // Weight [3, 2, 3, 3] numbered 0..54: each (out, in) pair keeps its centre, 4 + 9·i.
        let w: Vec<f32> = (0..54).map(|v| v as f32).collect();
        let centres: Vec<f32> = (0..6).map(|i| (4 + 9 * i) as f32).collect();
        assert_eq!(crop.weights(&w), centres);
        let back = crop.uncrop(&centres);
        assert_eq!(back.len(), 54);
        assert!(
            back.iter()
                .enumerate()
                .all(|(i, &v)| v == if i % 9 == 4 { i as f32 } else { 0.0 })
        );
    }

    #[test]
    fn a_strided_3x3_over_two_pixels_keeps_its_lower_right_2x2() {
        let crop = Crop::of(&geometry(2, 3, 2, 1)).expect("the top row and left column read padding");
        assert_eq!((crop.geometry.kernel, crop.geometry.padding), ([2, 2], [0, 0]));
        // One (out, in) pair's kernel, numbered 0..9 row by row.
        let w: Vec<f32> = (0..9).map(|v| v as f32).collect();
        assert_eq!(crop.weights(&w), [4.0, 5.0, 7.0, 8.0]);
    }

    #[test]
    fn the_cropped_convolution_and_its_gradients_equal_the_full_kernels() {
        use super::super::forward::{conv2d_forward, forward_grouped_as};
        use super::super::grouped::Grouping;
        use super::super::input_grad::{conv2d_input_grad, input_grad_grouped_as};
        use super::super::test_support::{assert_close, random};
        use super::super::weight_grad::{conv2d_weight_grad, weight_grad_grouped_as};
        for g in [geometry(1, 3, 1, 1), geometry(2, 3, 2, 1), geometry(3, 7, 4, 3)] {
            assert!(Crop::of(&g).is_some(), "{g:?} has dead taps");
            let (x, w, dy) = (
                random(g.input_shape(), 1),
                random(g.weight_shape(), 2),
                random(g.output_shape(), 3),
            );
            let full = Grouping::PerImage;
            let what = |op: &str| format!("{g:?} {op}");
            assert_close(
                &what("forward"),
                &conv2d_forward(&g, &x, &w, None),
                &forward_grouped_as(full, &g, &x, &w, None),
            );
            assert_close(
                &what("weight grad"),
                &conv2d_weight_grad(&g, &x, &dy),
                &weight_grad_grouped_as(full, &g, &x, &dy),
            );
            assert_close(
                &what("input grad"),
                &conv2d_input_grad(&g, &w, &dy),
                &input_grad_grouped_as(full, &g, &w, &dy),
            );
        }
    }

    #[test]
    fn kernels_whose_every_tap_reads_the_image_are_left_alone() {
        for g in [
            geometry(2, 3, 1, 1),
            geometry(56, 3, 1, 1),
            geometry(7, 1, 1, 0),
            geometry(224, 7, 2, 3),
        ] {
            assert_eq!(Crop::of(&g), None, "{g:?}");
        }
    }
}
