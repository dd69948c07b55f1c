use std::path::Path;

use crate::backend::Cpu;
use crate::commands::info::thousands;
use crate::model::Arch;
use crate::weights::{SaveDtype, WeightsSpec, open_model, save_safetensors};

pub fn run(
    arch: Arch,
    weights: &WeightsSpec,
    num_classes: Option<usize>,
    dtype: SaveDtype,
    out: &Path,
) -> anyhow::Result<()> {
    let (model, report) = open_model::<Cpu>(arch, num_classes, weights, &Default::default())?;
    if let Some(why) = report.head_reset {
        eprintln!("note: {why}");
    }
    save_safetensors(&model, out, dtype)?;
    eprintln!(
        "wrote {} ({arch}, {} classes, {dtype:?}, {} parameters)",
        out.display(),
        model.num_classes(),
        thousands(model.param_count())
    );
    Ok(())
}
