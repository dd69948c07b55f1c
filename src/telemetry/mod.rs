//! Hardware telemetry: per-GPU figures from NVML, or CPU and RAM where there is no NVIDIA GPU.
//! A sampler thread takes a [`Sample`] every so often; samples travel as trainer events.

mod gpu;
mod host;
mod sampler;

pub use gpu::GpuProbe;
pub use host::HostProbe;
pub use sampler::{Sampler, Sink};

use serde::{Deserialize, Serialize};

/// One reading of the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// One entry per NVIDIA GPU; empty when there is none.
    pub gpus: Vec<GpuSample>,
    /// Why there are no GPU figures ("no NVIDIA GPU: ..."), when there are none.
    pub no_gpu: Option<String>,
    pub host: HostSample,
}

/// One GPU's figures; a figure the driver does not report is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    pub index: u32,
    pub name: String,
    pub utilization_percent: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    pub temperature_c: Option<u32>,
    pub power_watts: Option<f64>,
    pub power_limit_watts: Option<f64>,
    pub sm_clock_mhz: Option<u32>,
}

/// CPU and RAM of the machine and of this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// Machine-wide CPU use, 0–100 % of all cores.
    pub cpu_percent: f32,
    /// This process's CPU use, 0–100 % of all cores.
    pub process_cpu_percent: f32,
    pub cores: usize,
    pub ram_used_bytes: u64,
    pub ram_total_bytes: u64,
    /// This process's resident memory.
    pub process_ram_bytes: u64,
}

impl Sample {
    /// A one-line figure for headless output: the first GPU, or CPU/RAM without one.
    pub fn brief(&self) -> String {
        const GIB: f64 = (1u64 << 30) as f64;
        match self.gpus.first() {
            Some(g) => {
                let mut parts = vec![format!("gpu{} {}", g.index, g.name)];
                if let Some(u) = g.utilization_percent {
                    parts.push(format!("{u}%"));
                }
                if let (Some(used), Some(total)) = (g.memory_used_bytes, g.memory_total_bytes) {
                    parts.push(format!("mem {:.1}/{:.1} GiB", used as f64 / GIB, total as f64 / GIB));
                }
                if let Some(t) = g.temperature_c {
                    parts.push(format!("{t}°C"));
                }
                if let Some(p) = g.power_watts {
                    parts.push(format!("{p:.0} W"));
                }
                parts.join(" ")
            }
            None => format!(
                "no NVIDIA GPU; cpu {:.0}% (kiln {:.0}%) ram {:.1}/{:.1} GiB (kiln {:.2} GiB)",
                self.host.cpu_percent,
                self.host.process_cpu_percent,
                self.host.ram_used_bytes as f64 / GIB,
                self.host.ram_total_bytes as f64 / GIB,
                self.host.process_ram_bytes as f64 / GIB,
            ),
        }
    }
}
