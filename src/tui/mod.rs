//! The dashboard: a ratatui view over the trainer's event stream, in the Elm architecture.
//!
//! - [`app::App`] is the state, built only from records and keys;
//! - [`update::update`] takes one message (a key, a record, a tick, a signal) and returns the
//!   commands to send; it does no I/O, so tests drive it directly;
//! - [`view::view`] draws the state into a frame;
//! - [`runtime`] is the tokio loop that feeds messages in and draws at most 10 times a second.
//!
//! The trainer keeps its own thread; the dashboard only reads its records and sends it the
//! same commands stdin would, so it can stop at any time without losing the run.

pub mod app;
pub mod compare;
mod follow;
pub mod freeze_map;
pub mod hardware;
pub mod history;
pub mod keys;
pub mod record;
pub mod runtime;
mod terminal;
pub mod update;
pub mod view;

#[cfg(test)]
pub(crate) mod fixtures;

use std::path::Path;

use crate::train::command::{Command, Source};
use crate::train::event::Summary;
use crate::train::trainer::TrainerHandle;

use app::{App, Mode};

/// Shows and steers a run until it ends and the user leaves; returns its summary. A terminal
/// that cannot be taken over gets the plain lines of `--no-tui` instead.
pub fn train(handle: TrainerHandle, log_every: u64) -> anyhow::Result<Summary> {
    let session = match terminal::Session::start() {
        Ok(session) => session,
        Err(e) => {
            eprintln!("cannot open the dashboard ({e}); printing plain lines instead");
            return crate::headless::run(handle, log_every);
        }
    };
    let TrainerHandle {
        commands,
        events,
        thread,
    } = handle;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    follow::bridge(events, tx)?;
    if let Err(e) = runtime::run(session, App::new(Mode::Live), rx, Some(&commands)) {
        // The dashboard failed, not the run: end the run the way Ctrl-C would.
        let _ = commands.send((Command::Stop, Source::Key));
        eprintln!(
            "the dashboard stopped ({}); stopping the run gracefully",
            crate::cli::describe(&e)
        );
    }
    drop(commands);
    match thread.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the trainer thread panicked; the run directory keeps its last checkpoint"),
    }
}

/// Replays a run's `events.jsonl` read-only, following it while the run is still writing.
pub fn show(events: &Path) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    follow::follow(events.to_path_buf(), tx)?;
    runtime::run(terminal::Session::start()?, App::new(Mode::ReadOnly), rx, None).map(|_| ())
}
