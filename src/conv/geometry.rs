//! The shape of one 2-D convolution (no groups, no dilation) as kiln's kernels see it.

/// The geometry of one 2-D convolution without groups or dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl ConvGeometry {
    /// Output height and width, as the forward convolution gives them.
    pub fn output(&self) -> [usize; 2] {
        [0, 1].map(|d| (self.input[d] + 2 * self.padding[d] - self.kernel[d]) / self.stride[d] + 1)
    }

    /// `[N, Cin, H, W]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_channels, self.input[0], self.input[1]]
    }

    /// `[Cout, Cin, kh, kw]`.
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.out_channels, self.in_channels, self.kernel[0], self.kernel[1]]
    }

    /// `[N, Cout, Ho, Wo]`.
    pub fn output_shape(&self) -> [usize; 4] {
        let [oh, ow] = self.output();
        [self.batch, self.out_channels, oh, ow]
    }

    /// Output pixels per channel.
    pub fn pixels(&self) -> usize {
        let [oh, ow] = self.output();
        oh * ow
    }

    /// Input values per image.
    pub fn image_len(&self) -> usize {
        self.in_channels * self.input[0] * self.input[1]
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Length of one image's im2col matrix; none for a pointwise convolution, which reads the
    /// image itself.
    pub fn cols_len(&self) -> usize {
        if self.is_pointwise() {
            0
        } else {
            self.patch_len() * self.pixels()
        }
    }

    /// A 1x1, stride-1, unpadded convolution reads each image as it lies: its im2col matrix
    /// is the image itself.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Along dimension `d`, the output positions whose input position `o·stride + k − pad`
    /// falls inside the image, for kernel offset `k`: a range, since it grows with `o`.
    pub fn valid_outputs(&self, d: usize, k: usize) -> std::ops::Range<usize> {
        let (s, p, n) = (self.stride[d], self.padding[d], self.input[d]);
        let out = self.output()[d];
        let lo = p.saturating_sub(k).div_ceil(s).min(out);
        let hi = (n + p).saturating_sub(k).div_ceil(s).min(out);
        lo..hi.max(lo)
    }
}

#[cfg(test)]
impl ConvGeometry {
    /// A square convolution for tests: `batch` images `side` pixels wide, `[in, out]`
    /// channels, a square kernel, stride and padding.
    pub(crate) fn square(
        batch: usize,
        [in_channels, out_channels]: [usize; 2],
        side: usize,
        [kernel, stride, padding]: [usize; 3],
    ) -> Self {
        ConvGeometry {
            batch,
            in_channels,
            out_channels,
            input: [side, side],
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [padding, padding],
        }
    }
}

/// (kernel, stride, padding, [in channels, out channels, height, width]).
#[cfg(test)]
pub(crate) type TestCase = ([usize; 2], [usize; 2], [usize; 2], [usize; 4]);

/// Convolutions that cover kiln's cases: the stem (7x7, stride 2, pad 3) on a non-square
/// image and on a 2x2 one (kernel columns that see no pixel at all), strided 3x3s (odd and even sides), a plain 3x3, a strided 1x1 shortcut and a
/// pointwise 1x1.
#[cfg(test)]
pub(crate) const TEST_CASES: [TestCase; 7] = [
    ([7, 7], [2, 2], [3, 3], [3, 8, 19, 13]),
    ([7, 7], [2, 2], [3, 3], [3, 4, 2, 2]),
    ([3, 3], [2, 2], [1, 1], [5, 6, 9, 9]),
    ([3, 3], [2, 2], [1, 1], [4, 3, 8, 10]),
    ([3, 3], [1, 1], [1, 1], [4, 7, 6, 5]),
    ([1, 1], [2, 2], [0, 0], [6, 10, 7, 7]),
    ([1, 1], [1, 1], [0, 0], [5, 9, 4, 6]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_outputs_are_exactly_those_inside_the_image() {
        for (kernel, stride, padding, [_, _, h, w]) in TEST_CASES {
            let g = ConvGeometry {
                batch: 1,
                in_channels: 1,
                out_channels: 1,
                input: [h, w],
                kernel,
                stride,
                padding,
            };
            for d in 0..2 {
                for k in 0..kernel[d] {
                    let inside: Vec<usize> = (0..g.output()[d])
                        .filter(|&o| {
                            (o * stride[d] + k)
                                .checked_sub(padding[d])
                                .is_some_and(|i| i < g.input[d])
                        })
                        .collect();
                    let range: Vec<usize> = g.valid_outputs(d, k).collect();
                    assert_eq!(range, inside, "{g:?}, dimension {d}, kernel offset {k}");
                }
            }
        }
    }
}
