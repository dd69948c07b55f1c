//! The sampling thread: probes opened once, one sample per interval, handed to a sink.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{GpuProbe, HostProbe, Sample};

/// Where samples go (the trainer's event stream, or a test's vector).
pub trait Sink: Send + 'static {
    fn sample(&mut self, sample: Sample);
}

impl Sink for Sender<Sample> {
    fn sample(&mut self, sample: Sample) {
        let _ = self.send(sample);
    }
}

/// Runs until dropped; the first sample comes after one interval (CPU use needs two readings).
pub struct Sampler {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    pub fn start(gpu: GpuProbe, interval: Duration, mut sink: impl Sink) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kiln-telemetry".into())
            .spawn(move || {
                let mut host = HostProbe::new();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    sink.sample(Sample {
                        gpus: gpu.sample(),
                        no_gpu: gpu.unavailable().map(str::to_string),
                        host: host.sample(),
                    });
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_nvml_it_says_no_nvidia_gpu_and_still_reports_cpu_and_ram() {
        let (tx, rx) = mpsc::channel();
        let gpu = GpuProbe::with_library("/nonexistent/libnvidia-ml.so.1".as_ref());
        let sampler = Sampler::start(gpu, Duration::from_millis(50), tx).unwrap();
        // Keep a core busy so the process's CPU figure has something to show.
        let busy = std::time::Instant::now();
        let mut x = 0u64;
        while busy.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let samples: Vec<Sample> = rx.iter().take(3).collect();
        drop(sampler);
        let last = samples.last().unwrap();
        assert!(last.gpus.is_empty());
        let why = last.no_gpu.as_deref().unwrap();
        assert_eq!(why, "no NVIDIA GPU (no NVML library)");
        assert!(last.host.ram_total_bytes > last.host.ram_used_bytes && last.host.ram_used_bytes > 0);
        assert!(last.host.process_ram_bytes > 0 && last.host.cores >= 1);
        assert!(samples.iter().any(|s| s.host.process_cpu_percent > 0.0), "{samples:?}");
        assert!(last.brief().starts_with("no NVIDIA GPU; cpu "), "{}", last.brief());
    }
}
