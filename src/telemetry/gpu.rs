//! NVIDIA GPUs through NVML, loaded at run time: no driver means "no NVIDIA GPU", not an error.

use std::ffi::OsStr;

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};

use super::GpuSample;

/// NVML, initialised once; or the reason there is none.
pub struct GpuProbe {
    nvml: Result<Nvml, String>,
}

impl GpuProbe {
    /// Loads the system's NVML library.
    pub fn new() -> Self {
        Self::from_result(Nvml::init())
    }

    /// Loads NVML from a given library file (tests use a path that does not exist).
    pub fn with_library(path: &OsStr) -> Self {
        Self::from_result(Nvml::builder().lib_path(path).init())
    }

    fn from_result(nvml: Result<Nvml, nvml_wrapper::error::NvmlError>) -> Self {
        use nvml_wrapper::error::NvmlError;
        let nvml = nvml
            .map_err(|e| match e {
                // The usual case on machines without the driver; the loader's message is long.
                NvmlError::LibloadingError(_) => "no NVIDIA GPU (no NVML library)".to_string(),
                NvmlError::DriverNotLoaded => "no NVIDIA GPU (driver not loaded)".to_string(),
                e => format!("no NVIDIA GPU (NVML: {e})"),
            })
            .and_then(|nvml| match nvml.device_count() {
                Ok(0) => Err("no NVIDIA GPU (NVML found no device)".to_string()),
                Ok(_) => Ok(nvml),
                Err(e) => Err(format!("no NVIDIA GPU (NVML: {e})")),
            });
        Self { nvml }
    }

    /// Why there are no GPU figures, if there are none.
    pub fn unavailable(&self) -> Option<&str> {
        self.nvml.as_ref().err().map(String::as_str)
    }

    /// One reading of every GPU; empty without NVML.
    pub fn sample(&self) -> Vec<GpuSample> {
        let Ok(nvml) = &self.nvml else { return Vec::new() };
        let count = nvml.device_count().unwrap_or(0);
        (0..count)
            .filter_map(|index| {
                let d = nvml.device_by_index(index).ok()?;
                let memory = d.memory_info().ok();
                Some(GpuSample {
                    index,
                    name: d.name().unwrap_or_else(|_| "NVIDIA GPU".into()),
                    utilization_percent: d.utilization_rates().ok().map(|u| u.gpu),
                    memory_used_bytes: memory.as_ref().map(|m| m.used),
                    memory_total_bytes: memory.as_ref().map(|m| m.total),
                    temperature_c: d.temperature(TemperatureSensor::Gpu).ok(),
                    power_watts: d.power_usage().ok().map(|mw| mw as f64 / 1000.0),
                    power_limit_watts: d.enforced_power_limit().ok().map(|mw| mw as f64 / 1000.0),
                    sm_clock_mhz: d.clock_info(Clock::SM).ok(),
                })
            })
            .collect()
    }
}

impl Default for GpuProbe {
    fn default() -> Self {
        Self::new()
    }
}
