//! The calls into `gemm` that kiln's convolution kernels make, with strides derived from
//! row-major storage instead of written out at each call.

/// A matrix operand read from `data`: element (i, j) at `i · row_stride + j · col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Strided<'a> {
    /// A row-major `rows x cols` matrix, or (`transposed`) one stored as its `cols x rows`
    /// transpose.
    pub fn row_major(data: &'a [f32], cols: usize, rows: usize, transposed: bool) -> Self {
        let (row_stride, col_stride) = if transposed { (1, rows) } else { (cols, 1) };
        Strided {
            data,
            row_stride,
            col_stride,
        }
    }

    /// Every index of a `rows x cols` view lies inside `data`.
    fn check(&self, what: &str, rows: usize, cols: usize) {
        if rows == 0 || cols == 0 {
            return;
        }
        let last = (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
        assert!(
            last < self.data.len(),
            "matmul: {what} holds {} values, a {rows} x {cols} view reaches index {last}",
            self.data.len()
        );
    }
}

/// `dst (m x n) = [dst +] a (m x k) · b (k x n)`, all row-major; `a_transposed` /
/// `b_transposed` say the operand is stored as its transpose (`k x m`, `n x k`).
pub fn matmul(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    accumulate: bool,
    (a, a_transposed): (&[f32], bool),
    (b, b_transposed): (&[f32], bool),
    parallelism: gemm::Parallelism,
) {
    let a = Strided::row_major(a, k, m, a_transposed);
    let b = Strided::row_major(b, n, k, b_transposed);
    matmul_strided([m, n, k], (dst, n), accumulate, a, b, parallelism);
}

/// `dst (m x n, rows `dst_row_stride` apart) = [dst +] a (m x k) · b (k x n)`, each operand
/// read through its own strides.
pub fn matmul_strided(
    [m, n, k]: [usize; 3],
    (dst, dst_row_stride): (&mut [f32], usize),
    accumulate: bool,
    a: Strided,
    b: Strided,
    parallelism: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    let dst_last = (m - 1) * dst_row_stride + n - 1;
    assert!(
        dst_last < dst.len() && n <= dst_row_stride,
        "matmul: destination holds {} values, needs {m} x {n} with rows {dst_row_stride} apart",
        dst.len()
    );
    a.check("left operand", m, k);
    b.check("right operand", k, n);
    // SAFETY: the checks above keep every index gemm derives from these strides in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
