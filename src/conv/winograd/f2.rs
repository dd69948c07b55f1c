//! F(2x2, 3x3)'s input transform written out: `Bᵀ d B` is additions only (Bᵀ's entries are
//! 0 and ±1), done in one pass over the padded plane instead of the general transform's
//! gather and two matrix passes. In a resnet18 full step's profile the transforms fell from
//! 17 % of the samples (against gemm's 43 %) to 11 % (against 48 %).

/// `Bᵀ d B` for every 4x4 input tile of `padded`, a plane with its one-pixel border, `cols`
/// values a row, tiles starting every 2 pixels; `tiles = [th, tw]`. Position p = 4a + b of
/// tile t goes to `out[p · stride + t]`, as `tiles::input_tiles` lays them out.
pub fn input_tiles(
    padded: &[f32],
    cols: usize,
    [th, tw]: [usize; 2],
    out: &mut [f32],
    stride: usize,
    rows: &mut [f32],
) {
    // Bᵀ's rows: d0 − d2, d1 + d2, d2 − d1, d1 − d3; B applies the same to the columns.
    // `rows` (4 · cols values) holds them for one row of tiles.
    let (r0, rest) = rows.split_at_mut(cols);
    let (r1, rest) = rest.split_at_mut(cols);
    let (r2, r3) = rest.split_at_mut(cols);
    let r3 = &mut r3[..cols];
    for ty in 0..th {
        let d = |i: usize| &padded[(2 * ty + i) * cols..][..cols];
        let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3));
        for c in 0..cols {
            r0[c] = d0[c] - d2[c];
            r1[c] = d1[c] + d2[c];
            r2[c] = d2[c] - d1[c];
            r3[c] = d1[c] - d3[c];
        }
        for (a, r) in [&*r0, &*r1, &*r2, &*r3].into_iter().enumerate() {
            let base = 4 * a * stride + ty * tw;
            for tx in 0..tw {
                let c = 2 * tx;
                let (v0, v1, v2, v3) = (r[c], r[c + 1], r[c + 2], r[c + 3]);
                out[base + tx] = v0 - v2;
                out[base + stride + tx] = v1 + v2;
                out[base + 2 * stride + tx] = v2 - v1;
                out[base + 3 * stride + tx] = v1 - v3;
            }
        }
    }
}
