use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::RunConfig;
use crate::runlog::RunDir;
use crate::train::checkpoint;
use crate::train::event::Status;
use crate::train::trainer::{TrainJob, spawn};
use crate::weights::WeightsSpec;

/// The Burn release kiln is built against (pinned in Cargo.toml).
const BURN_VERSION: &str = "0.21.0";

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A TOML run config, e.g. configs/quickstart.toml.
    pub config: Option<PathBuf>,
    /// Continue the run in RUN_DIR from its last checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Override a config key with a TOML value: --set train.lr=3e-4 --set train.freeze=[]
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Where run directories are created.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Run name (default: the config file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// auto, cpu, cuda or cuda:N (sets train.device).
    #[arg(long)]
    pub device: Option<crate::config::Device>,
    /// Plain line output instead of the dashboard.
    #[arg(long)]
    pub no_tui: bool,
}

/// A run whose last checkpoint is past its final epoch (completed, or stopped or early-stopped
/// as that epoch ended) has nothing left to resume: resuming it anyway only evaluated it again
/// and rewrote its summary (with a speed of 0 images/s). Checked before anything in the run
/// directory is rewritten; raising train.epochs trains it further.
fn refuse_finished(dir: &RunDir, config: &RunConfig) -> anyhow::Result<()> {
    let Some(state) = checkpoint::find(&dir.checkpoint("last")).and_then(|last| checkpoint::load_state(&last).ok())
    else {
        return Ok(());
    };
    let (trained, epochs) = (state.epoch.saturating_sub(1), config.train.epochs as usize);
    if trained >= epochs {
        anyhow::bail!(
            "{} has trained all its {epochs} epochs: nothing to resume. To train it further, resume with \
             --set train.epochs=N (N above {trained}); to start over, run its config again",
            dir.path.display()
        );
    }
    Ok(())
}

/// The paths a new run needs, checked before its run directory is made: a mistyped data folder
/// or weights file is an error, not a failed run left in `kiln runs`.
fn preflight(config: &RunConfig) -> anyhow::Result<()> {
    let root = &config.data.root;
    if !root.is_dir() {
        return Err(crate::data::DataError::MissingRoot(root.clone()).into());
    }
    if let WeightsSpec::File(path) = &config.model.weights
        && let Err(source) = std::fs::metadata(path)
    {
        return Err(crate::weights::WeightError::Io {
            path: path.clone(),
            source,
        }
        .into());
    }
    Ok(())
}

/// Runs training; the process exit status says how it ended.
pub fn run(mut opts: Options) -> anyhow::Result<std::process::ExitCode> {
    if let Some(device) = opts.device {
        opts.sets.push(format!("train.device=\"{device}\""));
    }
    let (config, dir, resume) = match (&opts.resume, &opts.config) {
        (Some(dir), None) => {
            let dir = RunDir::open(dir)?;
            let config = RunConfig::load_with_sets(dir.config(), &opts.sets)?;
            refuse_finished(&dir, &config)?;
            (config, dir, true)
        }
        (None, Some(path)) => {
            let config = RunConfig::load_with_sets(path, &opts.sets)?;
            preflight(&config)?;
            let name = opts.name.clone().unwrap_or_else(|| stem(path));
            let dir = RunDir::create(&opts.runs_dir, &name)?;
            (config, dir, false)
        }
        (Some(_), Some(_)) => anyhow::bail!("give either a CONFIG or --resume RUN_DIR, not both"),
        (None, None) => anyhow::bail!("give a CONFIG file (e.g. configs/quickstart.toml) or --resume RUN_DIR"),
    };
    // Saved before the first step, so even a run killed during setup says what it was. The
    // versions go in comments: they describe the run, they are not settings.
    let header = format!(
        "# resolved by kiln {} (burn {}); seed {}\n",
        env!("CARGO_PKG_VERSION"),
        BURN_VERSION,
        config.train.seed
    );
    std::fs::write(dir.config(), header + &config.to_toml_string())
        .with_context(|| format!("cannot write {}", dir.config().display()))?;
    // The dashboard needs a terminal to draw on; piped or redirected output gets plain lines.
    let dashboard = !opts.no_tui && std::io::stdout().is_terminal();
    if dashboard && config.model.weights == WeightsSpec::ImageNet {
        // A first download prints progress, which must happen before the dashboard takes the screen.
        config.model.weights.resolve(config.model.arch)?;
    }
    let handle = spawn(TrainJob {
        config: config.clone(),
        dir,
        resume,
    })?;
    let summary = if dashboard {
        crate::tui::train(handle, config.train.log_every)?
    } else {
        crate::headless::run(handle, config.train.log_every)?
    };
    Ok(match summary.status {
        Status::Completed | Status::EarlyStopped | Status::Stopped => std::process::ExitCode::SUCCESS,
        Status::Aborted => std::process::ExitCode::from(130),
        Status::Failed => std::process::ExitCode::FAILURE,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into())
}
