//! Peak memory of a benchmark: the process's peak resident set on the CPU; on a GPU, the
//! most device memory in use (NVML) above what was in use before the model existed.

use std::cell::Cell;

use crate::device::Selected;
use crate::telemetry::GpuProbe;

pub struct Tracker {
    gpu: Option<(GpuProbe, u32, u64)>,
    peak: Cell<u64>,
}

impl Tracker {
    pub fn start(device: Selected) -> Self {
        let gpu = match device {
            Selected::Cpu => None,
            Selected::Cuda(index) => {
                let probe = GpuProbe::new();
                let baseline = gpu_used(&probe, index as u32).unwrap_or(0);
                Some((probe, index as u32, baseline))
            }
        };
        Self {
            gpu,
            peak: Cell::new(0),
        }
    }

    /// Takes a reading (GPU); the CPU's peak is kept by the kernel.
    pub fn sample(&self) {
        if let Some((probe, index, baseline)) = &self.gpu
            && let Some(used) = gpu_used(probe, *index)
        {
            self.peak.set(self.peak.get().max(used.saturating_sub(*baseline)));
        }
    }

    pub fn peak_bytes(&self) -> Option<u64> {
        match &self.gpu {
            Some(_) => Some(self.peak.get()),
            None => process_peak_rss(),
        }
    }
}

fn gpu_used(probe: &GpuProbe, index: u32) -> Option<u64> {
    probe
        .sample()
        .into_iter()
        .find(|g| g.index == index)
        .and_then(|g| g.memory_used_bytes)
}

/// `VmHWM` of /proc/self/status: the most resident memory this process has had.
fn process_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
