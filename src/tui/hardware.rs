//! What the hardware panel draws: the latest telemetry sample, short histories for the
//! sparklines, and throughput over the last few steps.

use std::collections::VecDeque;

use crate::telemetry::Sample;
use crate::train::event::StepInfo;

/// Samples kept for a sparkline (about a minute at 1 Hz).
pub const SPARK: usize = 60;
/// Steps averaged for images/s and the data-wait share.
const STEPS: usize = 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hardware {
    pub sample: Option<Sample>,
    /// Per GPU: utilisation and memory use, in percent.
    pub gpu_util: Vec<VecDeque<u64>>,
    pub gpu_mem: Vec<VecDeque<u64>>,
    /// Machine and process CPU, in percent of all cores.
    pub cpu: VecDeque<u64>,
    pub process_cpu: VecDeque<u64>,
    /// (images, step ms, data wait ms) of the last steps.
    steps: VecDeque<(f64, f64, f64)>,
}

fn push(series: &mut VecDeque<u64>, value: u64) {
    if series.len() == SPARK {
        series.pop_front();
    }
    series.push_back(value);
}

impl Hardware {
    pub fn push_sample(&mut self, sample: Sample) {
        self.gpu_util.resize_with(sample.gpus.len(), VecDeque::new);
        self.gpu_mem.resize_with(sample.gpus.len(), VecDeque::new);
        for (i, g) in sample.gpus.iter().enumerate() {
            push(&mut self.gpu_util[i], g.utilization_percent.unwrap_or(0) as u64);
            let mem = match (g.memory_used_bytes, g.memory_total_bytes) {
                (Some(used), Some(total)) if total > 0 => used * 100 / total,
                _ => 0,
            };
            push(&mut self.gpu_mem[i], mem);
        }
        push(&mut self.cpu, sample.host.cpu_percent.round() as u64);
        push(&mut self.process_cpu, sample.host.process_cpu_percent.round() as u64);
        self.sample = Some(sample);
    }

    pub fn push_step(&mut self, s: &StepInfo) {
        if self.steps.len() == STEPS {
            self.steps.pop_front();
        }
        let images = s.images_per_second * s.step_ms / 1000.0;
        self.steps.push_back((images, s.step_ms, s.data_wait_ms));
    }

    /// Images per second over the last steps.
    pub fn images_per_second(&self) -> Option<f64> {
        let (images, ms, _) = self.totals()?;
        Some(images / (ms / 1000.0))
    }

    /// Share of step time spent waiting for the next batch, 0–1.
    pub fn data_wait(&self) -> Option<f64> {
        let (_, ms, wait) = self.totals()?;
        Some((wait / ms).clamp(0.0, 1.0))
    }

    fn totals(&self) -> Option<(f64, f64, f64)> {
        let t = self
            .steps
            .iter()
            .fold((0.0, 0.0, 0.0), |a, s| (a.0 + s.0, a.1 + s.1, a.2 + s.2));
        (t.1 > 0.0).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{gpu_sample, step_info};

    #[test]
    fn throughput_is_images_over_time_not_a_mean_of_rates() {
        let mut hw = Hardware::default();
        // 64 images in 1 s, then 64 in 3 s: 128 images in 4 s.
        hw.push_step(&StepInfo {
            images_per_second: 64.0,
            step_ms: 1000.0,
            data_wait_ms: 100.0,
            ..step_info(1.0)
        });
        hw.push_step(&StepInfo {
            images_per_second: 64.0 / 3.0,
            step_ms: 3000.0,
            data_wait_ms: 900.0,
            ..step_info(1.0)
        });
        assert!((hw.images_per_second().unwrap() - 32.0).abs() < 1e-9);
        assert!((hw.data_wait().unwrap() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn sparklines_keep_the_last_minute() {
        let mut hw = Hardware::default();
        for i in 0..(SPARK as u32 + 5) {
            hw.push_sample(gpu_sample(i % 100));
        }
        assert_eq!(hw.gpu_util[0].len(), SPARK);
        assert_eq!(*hw.gpu_util[0].back().unwrap(), (SPARK as u64 + 4) % 100);
        assert_eq!(hw.gpu_mem[0].back(), Some(&25));
    }
}
