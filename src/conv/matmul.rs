//! The one call into `gemm` that kiln's convolution kernels make, with strides derived from
//! row-major storage instead of written out at each call.

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
    assert!(
        dst.len() >= m * n,
        "matmul: destination holds {} values, needs {m} x {n}",
        dst.len()
    );
    assert!(
        a.len() >= m * k,
        "matmul: left operand holds {} values, needs {m} x {k}",
        a.len()
    );
    assert!(
        b.len() >= k * n,
        "matmul: right operand holds {} values, needs {k} x {n}",
        b.len()
    );
    // (column stride, row stride) of each operand as gemm reads it.
    let (a_cs, a_rs) = if a_transposed { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if b_transposed { (k, 1) } else { (1, n) };
    // SAFETY: the asserts above keep every index gemm derives from these strides in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
