use std::path::PathBuf;

use crate::commands::info::thousands;
use crate::commands::{ModelArgs, ModelFlags};
use crate::weights::{SaveDtype, save_safetensors_where};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A run directory: its model and best weights (checkpoints/best, else last).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["arch", "weights", "num_classes"])]
    pub run: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelFlags,
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
        run,
        model: flags,
        dtype,
        out,
        backbone_only,
    } = opts;
    let (args, classes) = match &run {
        Some(run) => {
            let (args, dir, _) = ModelArgs::of_run(run)?;
            (args, Some(dir.classes()))
        }
        None => (ModelArgs::from_flags(&flags)?, None),
    };
    let arch = args.arch;
    let (model, report) = args.open()?;
    if let Some(why) = report.head_reset {
        eprintln!("note: {why}; fc was freshly initialised");
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
    if let Some(classes) = classes.filter(|_| !backbone_only) {
        eprintln!("its classes, in fc's row order: {}", classes.display());
    }
    Ok(())
}
