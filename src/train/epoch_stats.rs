//! Training loss and accuracy accumulated over an epoch's steps.

/// Sum of loss and count over an epoch's steps.
#[derive(Debug, Default)]
pub struct RunningLoss {
    sum: f64,
    n: usize,
    correct: usize,
}

impl RunningLoss {
    pub fn add(&mut self, loss: f64, n: usize) {
        self.sum += loss * n as f64;
        self.n += n;
    }

    pub fn add_correct(&mut self, correct: usize) {
        self.correct += correct;
    }

    /// Mean loss and accuracy since the last call.
    pub fn take(&mut self) -> (f64, f64) {
        let n = self.n.max(1) as f64;
        let out = (self.sum / n, self.correct as f64 / n);
        *self = Self::default();
        out
    }
}
