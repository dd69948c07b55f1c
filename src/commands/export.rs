use std::path::PathBuf;

use crate::backend::Cpu;
use crate::commands::info::thousands;
use crate::model::Arch;
use crate::weights::{SaveDtype, WeightsSpec, open_model, save_safetensors_where};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// resnet18, resnet34, resnet50, resnet101 or resnet152.
    #[arg(long = "model", value_name = "MODEL")]
    pub arch: Arch,
    /// A .pth or .safetensors file, "imagenet", or "none" for random initialisation.
    #[arg(long)]
    pub weights: WeightsSpec,
    /// Class count of the head (default: the one in the weights file, else 1000).
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: SaveDtype,
    /// Where to write the .safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// Leave out the classifier (fc): a backbone for fine-tuning on other classes.
    #[arg(long)]
    pub backbone_only: bool,
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let Options {
        arch,
        weights,
        num_classes,
        dtype,
        out,
        backbone_only,
    } = opts;
    let (model, report) = open_model::<Cpu>(arch, num_classes, &weights, &Default::default())?;
    if let Some(why) = report.head_reset {
        eprintln!("note: {why}");
    }
    // A backbone file leaves the classifier to whoever fine-tunes it.
    save_safetensors_where(&model, &out, dtype, |name| !(backbone_only && name.starts_with("fc.")))?;
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
