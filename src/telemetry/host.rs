//! CPU and RAM of the machine and of this process, through `sysinfo`.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::HostSample;

pub struct HostProbe {
    system: System,
    pid: Option<Pid>,
}

impl HostProbe {
    pub fn new() -> Self {
        let mut probe = Self {
            system: System::new(),
            pid: sysinfo::get_current_pid().ok(),
        };
        // CPU use is a difference between two readings: take the first now.
        probe.refresh();
        probe
    }

    fn refresh(&mut self) {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        if let Some(pid) = self.pid {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_cpu().with_memory(),
            );
        }
    }

    pub fn sample(&mut self) -> HostSample {
        self.refresh();
        let cores = self.system.cpus().len().max(1);
        let process = self.pid.and_then(|pid| self.system.process(pid));
        HostSample {
            cpu_percent: self.system.global_cpu_usage(),
            // sysinfo gives a process's CPU as % of one core; share of all cores reads like the machine figure.
            process_cpu_percent: process.map_or(0.0, |p| p.cpu_usage() / cores as f32),
            cores,
            ram_used_bytes: self.system.used_memory(),
            ram_total_bytes: self.system.total_memory(),
            process_ram_bytes: process.map_or(0, |p| p.memory()),
        }
    }
}

impl Default for HostProbe {
    fn default() -> Self {
        Self::new()
    }
}
