use std::path::Path;

use crate::backend::Cpu;
use crate::commands::info::thousands;
use crate::model::Arch;
use crate::weights::{SaveDtype, WeightsSpec, open_model, save_safetensors_where};

pub fn run(
    arch: Arch,
    weights: &WeightsSpec,
    num_classes: Option<usize>,
    dtype: SaveDtype,
    out: &Path,
    backbone_only: bool,
) -> anyhow::Result<()> {
    let (model, report) = open_model::<Cpu>(arch, num_classes, weights, &Default::default())?;
    if let Some(why) = report.head_reset {
        eprintln!("note: {why}");
    }
    // A backbone file leaves the classifier to whoever fine-tunes it.
    save_safetensors_where(&model, out, dtype, |name| !(backbone_only && name.starts_with("fc.")))?;
    eprintln!(
        "wrote {} ({arch}{}, {dtype:?}, {} parameters)",
        out.display(),
        if backbone_only {
            ", backbone without fc".to_string()
        } else {
            format!(", {} classes", model.num_classes())
        },
        thousands(model.param_count())
    );
    Ok(())
}
