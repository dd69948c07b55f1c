//! Which device a run uses: `train.device` (`auto`, `cpu`, `cuda`, `cuda:N`) and
//! `train.precision`, checked against what this binary and this machine have.

use std::fmt;

use crate::config::{Device, Precision};

/// A device that exists and that this binary can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    Cpu,
    Cuda(usize),
}

impl fmt::Display for Selected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selected::Cpu => f.write_str("cpu (flex)"),
            Selected::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

/// What the machine offers: the number of CUDA devices, or why there are none.
pub type CudaProbe = Result<usize, String>;

/// Where the device and precision were asked for, so an error names the setting the user
/// wrote: the config's keys (`kiln train`, whose `--device` overrides `train.device`) or
/// the command line's flags (`kiln bench`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Config,
    Flags,
}

impl Named {
    /// `train.device = "cuda:1"` or `--device cuda:1`.
    fn setting(self, name: &str, value: impl fmt::Display) -> String {
        match self {
            Named::Config => format!("train.{name} = \"{value}\""),
            Named::Flags => format!("--{name} {value}"),
        }
    }
}

/// Whether this binary was built with the `cuda` feature.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// Picks the device for `requested` on this machine.
pub fn select(requested: Device, precision: Precision, named: Named) -> anyhow::Result<Selected> {
    // Probing loads the driver; `cpu` must work on machines where that would be slow or odd.
    let probe = if CUDA_BUILT && requested != Device::Cpu {
        probe_cuda()
    } else {
        Err("not probed".into())
    };
    resolve(requested, precision, CUDA_BUILT, probe, named)
}

/// The decision, apart from the machine, so every branch is testable anywhere.
pub fn resolve(
    requested: Device,
    precision: Precision,
    cuda_built: bool,
    probe: CudaProbe,
    named: Named,
) -> anyhow::Result<Selected> {
    let device = named.setting("device", requested);
    let selected = match requested {
        Device::Cpu => Selected::Cpu,
        Device::Auto => match (cuda_built, &probe) {
            (true, Ok(n)) if *n > 0 => Selected::Cuda(0),
            _ => Selected::Cpu,
        },
        Device::Cuda(index) => {
            if !cuda_built {
                anyhow::bail!(
                    "{device}: this kiln was built without CUDA; rebuild with \
                     `cargo build --release --features cuda`, or use --device cpu"
                );
            }
            match probe {
                Err(why) => anyhow::bail!("{device}: {why}; or use --device cpu"),
                Ok(0) => anyhow::bail!("{device}: the NVIDIA driver reports no CUDA device; use --device cpu"),
                Ok(n) if index >= n => anyhow::bail!(
                    "{device}: this machine has {n} CUDA device{} (cuda:0{}); use one of those or --device cpu",
                    if n == 1 { "" } else { "s" },
                    if n > 1 {
                        format!("..cuda:{}", n - 1)
                    } else {
                        String::new()
                    }
                ),
                Ok(_) => Selected::Cuda(index),
            }
        }
    };
    match (selected, precision) {
        (_, Precision::F32) | (Selected::Cuda(_), _) => Ok(selected),
        (Selected::Cpu, _) => {
            let (setting, f32) = (named.setting("precision", precision), named.setting("precision", "f32"));
            anyhow::bail!("{setting} is for CUDA; on the CPU kiln trains in f32: use {f32}")
        }
    }
}

/// Counts CUDA devices through the driver library, loaded at run time.
#[cfg(feature = "cuda")]
fn probe_cuda() -> CudaProbe {
    use cudarc::driver::result;
    // SAFETY: only tries to dlopen libcuda; nothing is called through it yet.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err("no NVIDIA driver found (libcuda.so cannot be loaded): install the NVIDIA driver".into());
    }
    result::init().map_err(|e| format!("the NVIDIA driver did not start ({e}): check it with nvidia-smi"))?;
    let devices = result::device::get_count()
        .map(|n| n.max(0) as usize)
        .map_err(|e| format!("the NVIDIA driver cannot count devices ({e})"))?;
    // Without the headers cubecl's first kernel compile panics on its own thread, inside the
    // first step: refuse here instead, with what to install.
    match crate::cuda_toolkit::locate(std::path::Path::new("/"), std::env::var_os("CUDA_PATH")) {
        crate::cuda_toolkit::Toolkit::Missing(why) => Err(why),
        _ => Ok(devices),
    }
}

#[cfg(not(feature = "cuda"))]
fn probe_cuda() -> CudaProbe {
    Err("this kiln was built without CUDA".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`resolve`] for `kiln train`, whose errors name the config's keys.
    fn resolve_named(d: Device, p: Precision, cuda_built: bool, probe: CudaProbe) -> anyhow::Result<Selected> {
        resolve(d, p, cuda_built, probe, Named::Config)
    }

    fn msg(r: anyhow::Result<Selected>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    #[test]
    fn auto_takes_the_first_gpu_when_there_is_one_else_the_cpu() {
        assert_eq!(
            resolve_named(Device::Auto, Precision::F32, true, Ok(2)).unwrap(),
            Selected::Cuda(0)
        );
        assert_eq!(
            resolve_named(Device::Auto, Precision::F32, true, Ok(0)).unwrap(),
            Selected::Cpu
        );
        assert_eq!(
            resolve_named(Device::Auto, Precision::F32, true, Err("no driver".into())).unwrap(),
            Selected::Cpu
        );
        assert_eq!(
            resolve_named(Device::Auto, Precision::F32, false, Ok(2)).unwrap(),
            Selected::Cpu
        );
    }

    #[test]
    fn cuda_without_the_feature_says_how_to_build_it() {
        let m = msg(resolve_named(Device::Cuda(0), Precision::F32, false, Err("x".into())));
        assert!(m.contains("built without CUDA") && m.contains("--features cuda"), "{m}");
        assert!(m.contains("--device cpu"), "{m}");
    }

    #[test]
    fn cuda_without_a_driver_or_device_says_which() {
        let m = msg(resolve_named(
            Device::Cuda(0),
            Precision::F32,
            true,
            Err("no NVIDIA driver found".into()),
        ));
        assert!(m.contains("\"cuda:0\"") && m.contains("no NVIDIA driver found"), "{m}");
        let m = msg(resolve_named(Device::Cuda(0), Precision::F32, true, Ok(0)));
        assert!(m.contains("no CUDA device"), "{m}");
        let m = msg(resolve_named(Device::Cuda(3), Precision::F32, true, Ok(2)));
        assert!(m.contains("has 2 CUDA devices (cuda:0..cuda:1)"), "{m}");
        assert_eq!(
            resolve_named(Device::Cuda(1), Precision::F32, true, Ok(2)).unwrap(),
            Selected::Cuda(1)
        );
    }

    #[test]
    fn half_precision_is_for_cuda_only() {
        let m = msg(resolve_named(Device::Cpu, Precision::Bf16, true, Ok(1)));
        assert!(m.contains("train.precision = \"bf16\" is for CUDA"), "{m}");
        let m = msg(resolve_named(Device::Auto, Precision::Bf16, true, Err("none".into())));
        assert!(m.contains("is for CUDA"), "{m}");
        for precision in [Precision::Bf16, Precision::F16] {
            assert_eq!(
                resolve_named(Device::Cuda(0), precision, true, Ok(1)).unwrap(),
                Selected::Cuda(0)
            );
        }
        let m = msg(resolve_named(Device::Cpu, Precision::F16, true, Ok(1)));
        assert!(m.contains("train.precision = \"f16\" is for CUDA"), "{m}");
    }

    #[test]
    fn the_bench_names_its_flags_instead_of_the_configs_keys() {
        let m = msg(resolve(Device::Cpu, Precision::F16, true, Ok(1), Named::Flags));
        assert!(m.starts_with("--precision f16 is for CUDA"), "{m}");
        assert!(m.ends_with("use --precision f32"), "{m}");
        let m = msg(resolve(
            Device::Cuda(0),
            Precision::F32,
            false,
            Err("x".into()),
            Named::Flags,
        ));
        assert!(
            m.starts_with("--device cuda:0: this kiln was built without CUDA"),
            "{m}"
        );
        let m = msg(resolve_named(Device::Cpu, Precision::Bf16, true, Ok(1)));
        assert!(m.ends_with("use train.precision = \"f32\""), "{m}");
    }

    #[test]
    fn this_binary_on_this_machine() {
        // CI builds without CUDA: asking for it must fail with the rebuild hint; auto is the CPU.
        if !CUDA_BUILT {
            assert!(msg(select(Device::Cuda(0), Precision::F32, Named::Config)).contains("--features cuda"));
        }
        assert_eq!(
            select(Device::Cpu, Precision::F32, Named::Config).unwrap(),
            Selected::Cpu
        );
    }
}
