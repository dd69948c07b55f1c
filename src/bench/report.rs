//! A benchmark's figures, as lines for people or one JSON object for scripts.

use serde::Serialize;

use super::{Mode, Spec};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub model: String,
    pub mode: Mode,
    pub batch: usize,
    pub image_size: usize,
    pub device: String,
    pub precision: String,
    /// Whether BatchNorm was folded into the frozen prefix.
    pub fold: bool,
    pub steps: usize,
    pub warmup: usize,
    /// Median over the timed steps.
    pub images_per_second: f64,
    pub images_per_second_min: f64,
    pub images_per_second_max: f64,
    pub ms_per_step: f64,
    pub peak_memory_mb: Option<f64>,
}

impl Report {
    pub fn new(spec: &Spec, step_seconds: &[f64], peak_bytes: Option<u64>) -> Self {
        let mut sorted = step_seconds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        let ips = |secs: f64| spec.batch as f64 / secs;
        Report {
            tool: "kiln",
            model: spec.arch.to_string(),
            mode: spec.mode,
            batch: spec.batch,
            image_size: spec.image_size,
            device: spec.device.to_string(),
            precision: spec.precision.to_string(),
            fold: spec.fold,
            steps: step_seconds.len(),
            warmup: spec.warmup,
            images_per_second: ips(median),
            // The slowest step gives the least images/s.
            images_per_second_min: sorted.last().map_or(f64::NAN, |&s| ips(s)),
            images_per_second_max: sorted.first().map_or(f64::NAN, |&s| ips(s)),
            ms_per_step: median * 1000.0,
            peak_memory_mb: peak_bytes.map(|b| b as f64 / 1e6),
        }
    }

    pub fn lines(&self) -> String {
        let memory = self
            .peak_memory_mb
            .map(|m| format!("{m:.0} MB"))
            .unwrap_or_else(|| "unknown".into());
        format!(
            "{} {} batch {} at {} px on {} ({}), {} steps after {} warm-up\n  \
             {:.1} images/s (median; min {:.1}, max {:.1}), {:.1} ms/step, peak memory {memory}",
            self.model,
            self.mode.as_str(),
            self.batch,
            self.image_size,
            self.device,
            self.precision,
            self.steps,
            self.warmup,
            self.images_per_second,
            self.images_per_second_min,
            self.images_per_second_max,
            self.ms_per_step,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Precision;
    use crate::device::Selected;
    use crate::model::Arch;

    #[test]
    fn median_min_and_max_are_taken_over_steps() {
        let spec = Spec {
            arch: Arch::ResNet18,
            mode: Mode::Frozen,
            batch: 8,
            image_size: 64,
            classes: 10,
            steps: 4,
            warmup: 1,
            device: Selected::Cpu,
            precision: Precision::F32,
            fold: true,
        };
        let r = Report::new(&spec, &[0.5, 0.1, 0.2, 0.4], Some(2_000_000));
        assert!((r.images_per_second - 8.0 / 0.3).abs() < 1e-9);
        assert!((r.images_per_second_min - 16.0).abs() < 1e-9);
        assert!((r.images_per_second_max - 80.0).abs() < 1e-9);
        assert!((r.ms_per_step - 300.0).abs() < 1e-9);
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(json["mode"], "frozen");
        assert_eq!(json["peak_memory_mb"], 2.0);
    }
}
