//! `kiln show RUN`: the dashboard, read-only, over a run's events.jsonl; a run still being
//! written is followed as it grows. Without a terminal, the run's plain lines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::headless::Printer;
use crate::runlog::read_events;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// A run directory (or its events.jsonl).
    pub run: PathBuf,
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let events = events_file(&opts.run)?;
    if std::io::stdout().is_terminal() {
        return crate::tui::show(&events);
    }
    let mut printer = Printer::new(1);
    let mut text = String::new();
    for record in read_events(&events)? {
        if let Some(line) = printer.line(&record) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    Ok(super::print_all(&text)?)
}

/// The events file of a run directory, or the file itself.
pub fn events_file(run: &Path) -> anyhow::Result<PathBuf> {
    let path = if run.is_dir() {
        run.join("events.jsonl")
    } else {
        run.to_path_buf()
    };
    crate::runlog::RunDir::ensure_exists(run)?;
    anyhow::ensure!(
        path.is_file(),
        "{} is not a kiln run (no events.jsonl); `kiln runs` lists them",
        run.display()
    );
    Ok(path)
}
