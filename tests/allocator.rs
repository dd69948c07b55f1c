//! Freed memory stays in malloc's heap for the next step (its own process: the figures are
//! the whole process's). 32 MiB: a test thread allocates from one of glibc's per-thread
//! heaps, which hold up to 64 MiB (beyond that glibc maps a block whatever the settings).

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_freed_large_block_stays_in_the_heap_instead_of_going_back_to_the_kernel() {
    const SIZE: usize = 32 << 20;
    kiln::allocator::keep_freed_memory();
    // SAFETY: mallinfo2 only reads malloc's counters.
    let info = || unsafe { libc::mallinfo2() };
    let before = info();
    let block = vec![1u8; SIZE];
    let during = info();
    assert!(
        during.hblkhd < before.hblkhd + SIZE,
        "a {SIZE}-byte block was mapped on its own ({} -> {} mapped bytes)",
        before.hblkhd,
        during.hblkhd
    );
    drop(std::hint::black_box(block));
    let after = info();
    assert!(
        after.fordblks >= SIZE,
        "the freed block left the heap: free bytes {} -> {}",
        before.fordblks,
        after.fordblks
    );
}
