//! The first few of a stream of items, and a count of them all: a run's warnings, whose first
//! ones (start-up warnings about the data) matter most and whose flood must not grow forever.

#[derive(Debug, Clone)]
pub struct FirstKept<T> {
    kept: Vec<T>,
    count: usize,
    cap: usize,
}

impl<T> FirstKept<T> {
    pub fn new(cap: usize) -> Self {
        FirstKept {
            kept: Vec::new(),
            count: 0,
            cap,
        }
    }

    /// Counts `item`, and keeps it while fewer than the cap are kept.
    pub fn push(&mut self, item: T) {
        self.count += 1;
        if self.kept.len() < self.cap {
            self.kept.push(item);
        }
    }

    /// The first ones, oldest first.
    pub fn kept(&self) -> &[T] {
        &self.kept
    }

    /// Every item pushed, kept or not.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Those counted but not kept.
    pub fn more(&self) -> usize {
        self.count - self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_and_counts_them_all() {
        let mut first = FirstKept::new(2);
        for i in 0..5 {
            first.push(i);
        }
        assert_eq!(first.kept(), [0, 1]);
        assert_eq!((first.count(), first.more()), (5, 3));
    }
}
