//! How freed memory is kept. glibc's malloc maps blocks above its threshold (128 KiB, rising
//! to at most 32 MiB) straight from the kernel and unmaps them when they are freed, and it
//! trims the free top of its heaps. A training step frees and reallocates the same
//! activations and gradients every time, so each came back as fresh pages: a page fault and
//! 4 KiB of zeroing per page, mostly on the main thread while the other cores wait (45,000
//! faults a step for resnet18 at batch 8, 300,000 at batch 32). Keeping freed memory in the
//! heap removes them (BENCHMARKS.md has the figures). The peak does not grow: the same sizes
//! come back each step and reuse the same blocks. (Threads other than the main one allocate
//! from heaps of at most 64 MiB; glibc still maps blocks larger than that for them.)

/// Keeps freed memory for reuse instead of giving it back to the kernel. Call at the start
/// of `main`, before any thread starts; elsewhere than glibc it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's parameters, and no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}
