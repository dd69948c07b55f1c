//! `kiln lr-find CONFIG`: the learning-rate range test on the config's model and data, printed
//! as a table of learning rate and loss with the `train.lr` to use. Nothing is kept: the sweep
//! trains in a scratch run directory that is removed afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::config::RunConfig;
use crate::runlog::{RunDir, RunLog};
use crate::train::emitter::Emitter;
use crate::train::event::Event;
use crate::train::lr_find::{End, Plan, Swept, sweep};
use crate::train::setup;
use crate::train::trainer::TrainJob;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A TOML run config, e.g. configs/quickstart.toml.
    pub config: PathBuf,
    /// Override a config key with a TOML value: --set train.batch_size=32
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Optimizer steps in the sweep (at most; it stops early once the loss blows up).
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// The first step's train.lr.
    #[arg(long, default_value_t = 1e-7)]
    pub min_lr: f64,
    /// The last step's train.lr.
    #[arg(long, default_value_t = 1.0)]
    pub max_lr: f64,
    /// auto, cpu, cuda or cuda:N (sets train.device).
    #[arg(long)]
    pub device: Option<crate::config::Device>,
}

/// Rows of the printed table (the last point is always one).
const ROWS: usize = 20;

pub fn run(mut opts: Options) -> anyhow::Result<()> {
    anyhow::ensure!(
        opts.min_lr > 0.0 && opts.max_lr > opts.min_lr && opts.steps >= 2,
        "--min-lr and --max-lr must be positive with min below max, and --steps at least 2 \
         (got {:e}, {:e}, {})",
        opts.min_lr,
        opts.max_lr,
        opts.steps
    );
    if let Some(device) = opts.device {
        opts.sets.push(format!("train.device=\"{device}\""));
    }
    let config = RunConfig::load_with_sets(&opts.config, &opts.sets)?;
    let scratch = Scratch::new()?;
    let dir = RunDir::create(&scratch.0, "lr-find")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut em = Emitter::new(RunLog::open(&dir)?, tx);
    let plan = Plan {
        min: opts.min_lr,
        max: opts.max_lr,
        steps: opts.steps,
    };
    let precision = config.train.precision;
    let selected = crate::device::select(config.train.device, precision, crate::device::Named::Config)?;
    let label = format!("{selected} {precision}");
    let job = TrainJob {
        config: config.clone(),
        dir,
        resume: false,
    };
    // Ctrl-C ends the sweep at its step: the table so far is printed and the scratch removed.
    // Again, and kiln leaves at once (removing the scratch itself).
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let presses = AtomicUsize::new(0);
    let scratch_path = scratch.0.clone();
    ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("stopping the sweep after this step; Ctrl-C again to quit");
            flag.store(true, Ordering::Relaxed);
        } else {
            let _ = std::fs::remove_dir_all(&scratch_path);
            std::process::exit(130);
        }
    })?;
    let ratios = ratios(&config);
    let swept = crate::with_backend!(selected, |device: B| {
        let prepared = setup::prepare::<B>(&job, &device, &label, &mut em);
        // The data warnings setup gives (imbalance, files that are not images) matter here too.
        print_warnings(&rx);
        let mut prepared = prepared?;
        let own = ratios
            .iter()
            .map(|(key, r)| format!("{key} {r:.3}x"))
            .collect::<Vec<_>>();
        super::print_all(&format!(
            "lr-find: {} on {label}, {} training images, batches of {}; train.lr {:.1e} to {:.1e} over at most {} steps{}\n",
            config.model.arch,
            prepared.train.len(),
            config.train.batch_size,
            plan.min,
            plan.max,
            plan.steps,
            if own.is_empty() {
                String::new()
            } else {
                format!(" ({})", own.join(", "))
            }
        ))?;
        let swept = sweep(&mut prepared, &config, &plan, &device, &stop, &mut em);
        // Unreadable images, even when none was left to sweep with.
        print_warnings(&rx);
        swept?
    });
    Ok(super::print_all(&report(&swept, &opts.config, &ratios))?)
}

/// The warnings the run sent so far.
fn print_warnings(rx: &std::sync::mpsc::Receiver<crate::train::event::Record>) {
    for record in rx.try_iter() {
        if let Event::Warning { message } = record.event {
            eprintln!("warning: {message}");
        }
    }
}

/// Each group whose learning rate is not `train.lr` (the head's `head_lr`, `train.group_lr`'s
/// stages and blocks), as the key that sets it and its ratio to `train.lr`: the sweep keeps
/// the ratios.
fn ratios(config: &RunConfig) -> Vec<(String, f64)> {
    setup::base_lrs(config)
        .into_iter()
        .map(|(g, lr)| (g, lr / config.train.lr))
        .filter(|(_, ratio)| (ratio - 1.0).abs() > 1e-9)
        .map(|(g, ratio)| match g.as_str() {
            "head" => ("train.head_lr".to_string(), ratio),
            block if block.contains('.') => (format!("train.group_lr.\"{block}\""), ratio),
            stage => (format!("train.group_lr.{stage}"), ratio),
        })
        .collect()
}

/// The table, why the sweep ended, and what to train with.
fn report(swept: &Swept, path: &Path, ratios: &[(String, f64)]) -> String {
    let Swept { curve, end, .. } = swept;
    let points = &curve.points;
    let every = points.len().div_ceil(ROWS).max(1);
    let rows: Vec<_> = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i + 1 == points.len())
        .map(|(_, p)| p)
        .collect();
    let finite = rows.iter().map(|p| p.smoothed).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut out = format!("{:>10}  {:>10}  {:>10}\n", "train.lr", "loss", "smoothed");
    for p in rows {
        let bar = if p.smoothed.is_finite() && hi > lo {
            "█".repeat(1 + ((p.smoothed - lo) / (hi - lo) * 29.0).round() as usize)
        } else {
            String::new()
        };
        out += &format!(
            "{:>10.1e}  {:>10}  {:>10}  {bar}\n",
            p.lr,
            loss_text(p.loss),
            loss_text(p.smoothed)
        );
    }
    out += &match end {
        End::BlewUp => format!("stopped at step {}: the loss blew up\n", points.len()),
        End::Planned => format!("ran all {} steps\n", points.len()),
        End::Interrupted => format!("stopped at step {} by Ctrl-C\n", points.len()),
    };
    // A sweep stopped before its loss turned up has covered too little of the range: where
    // its noise fell fastest says nothing (seen: 1.1e-7 "suggested" after 88 steps of 2000).
    let suggestion = curve.suggestion().filter(|_| *end != End::Interrupted);
    match suggestion {
        Some(s) => {
            let others: String = ratios
                .iter()
                .map(|(key, r)| {
                    format!(
                        " --set {}",
                        super::shell_quoted(&format!("{key}={:.1e}", s.steepest * r))
                    )
                })
                .collect();
            out += &format!(
                "suggested train.lr: {:.1e}, where the smoothed loss fell fastest ({:.1e}, a tenth of where it \
                 was lowest, is the cautious pick)\n  kiln train {} --set train.lr={:.1e}{others}\n",
                s.steepest,
                s.lowest_over_ten,
                super::shell_quoted(&path.display().to_string()),
                s.steepest
            );
        }
        None if *end == End::Interrupted => {
            let reached = points.last().map_or(0.0, |p| p.lr);
            out += &format!(
                "no suggestion: the sweep was stopped at train.lr {reached:.1e}, before its loss turned up; let it \
                 run, or sweep fewer --steps\n"
            );
        }
        None => {
            out += "no suggestion: the loss never fell; widen the range (--min-lr, --max-lr) or check the data\n";
        }
    }
    out
}

/// A loss in ten columns: four decimals, or an exponent once it has blown up past 10^4.
fn loss_text(v: f64) -> String {
    if v.abs() < 1e4 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

/// A scratch folder for the sweep's run directory, removed however the command ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("kiln-lr-find-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
