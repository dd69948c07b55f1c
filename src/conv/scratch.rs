//! Scratch buffers kept per thread between calls. A convolution's transformed tiles are
//! megabytes; a fresh zeroed `Vec` each call costs a memset and, for the first touch of
//! newly mapped pages, page faults. A [`Buffer`] goes back to its thread when dropped and
//! comes out again holding whatever the last user left: write before reading.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

/// Buffers one thread keeps at most: a convolution holds two at a time.
const KEPT_PER_THREAD: usize = 4;

thread_local! {
    static KEPT: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// `len` values of stale contents, returned to the dropping thread's keep.
pub struct Buffer(Vec<f32>);

impl Buffer {
    /// One of this thread's kept buffers, or a new one. A nested use on the same thread
    /// finds fewer kept and allocates: never the same buffer twice.
    pub fn take(len: usize) -> Self {
        let mut values = KEPT.with(|kept| kept.borrow_mut().pop()).unwrap_or_default();
        values.resize(len, 0.0);
        Buffer(values)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let values = std::mem::take(&mut self.0);
        // A thread being torn down has no keep left; the buffer is then simply freed.
        let _ = KEPT.try_with(|kept| {
            let mut kept = kept.borrow_mut();
            if kept.len() < KEPT_PER_THREAD {
                kept.push(values);
            }
        });
    }
}

impl Deref for Buffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_is_taken_again_and_two_live_ones_never_share() {
        let mut first = Buffer::take(8);
        first[7] = 42.0;
        let address = first.as_ptr();
        drop(first);
        let again = Buffer::take(8);
        assert_eq!(again.as_ptr(), address, "the kept buffer comes back");
        assert_eq!(again[7], 42.0, "with what its last user left");
        let other = Buffer::take(8);
        assert_ne!(other.as_ptr(), again.as_ptr(), "a second live buffer is another one");
        let longer = Buffer::take(100);
        assert_eq!(longer.len(), 100);
    }
}
