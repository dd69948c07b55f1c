//! The dashboard's state. Everything in it comes from trainer records or from keys, so the
//! same state can be built live, replayed from `events.jsonl`, or made by hand in a test.

use crate::first_kept::FirstKept;
use crate::train::command::{Command, Source};
use crate::train::event::{EpochInfo, Started, Status, Summary};

use super::freeze_map::FreezeMap;
use super::hardware::Hardware;
use super::history::History;

/// Watching a run that this process trains (keys send commands), or replaying a run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    ReadOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Before the trainer's `Started` (data scan, model load).
    Starting,
    Running,
    Paused,
    /// A stop or abort took effect; evaluation and the summary are under way.
    Stopping,
    Finished(Status),
}

/// A box over the panels that takes the keys while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    Help,
    /// Graceful stop, abort or cancel.
    Quit,
    /// The `:` line and what has been typed so far.
    CommandLine(String),
    /// The run's summary, opened when it finishes.
    Summary,
    /// Every warning of the run, oldest first, from the one at this index.
    Warnings(usize),
}

/// What the metrics panel shows; tab cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsView {
    Overview,
    Confusion,
    PerClass,
}

impl MetricsView {
    pub fn next(self) -> Self {
        match self {
            MetricsView::Overview => MetricsView::Confusion,
            MetricsView::Confusion => MetricsView::PerClass,
            MetricsView::PerClass => MetricsView::Overview,
        }
    }
}

/// The charts' x range: the whole run, or its last [`RECENT_STEPS`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Full,
    Recent,
}

pub const RECENT_STEPS: u64 = 200;

/// A command sent from a key that the trainer has not reported back yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub command: Command,
    pub source: Source,
    /// The step the dashboard had seen when it sent the command.
    pub sent_at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Info,
    /// A command took effect.
    Applied,
    Rejected,
    Warning,
    Checkpoint,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub step: u64,
    pub kind: LogKind,
    pub text: String,
}

/// Older log lines are dropped; the run log keeps everything.
pub const LOG_LINES: usize = 500;

/// The warnings list keeps the first ones (start-up warnings about the data matter most);
/// later ones are counted, and are in the event log and the run log.
pub const WARNINGS_KEPT: usize = 200;

pub struct App {
    pub mode: Mode,
    pub run: Option<Box<Started>>,
    pub state: RunState,
    pub step: u64,
    pub epoch: usize,
    /// Unix seconds: when the run started, and the dashboard's idea of now.
    pub started_at: Option<f64>,
    pub clock: f64,
    /// Time and step of the first step this run directory's process saw, for the ETA.
    pub first_step: Option<(f64, u64)>,
    /// The f16 loss scale of the latest step (f16 runs only).
    pub loss_scale: Option<f64>,
    pub history: History,
    pub freeze: FreezeMap,
    pub hardware: Hardware,
    pub last_epoch: Option<Box<EpochInfo>>,
    pub best_epoch: Option<usize>,
    pub summary: Option<Box<Summary>>,
    pub finished_at: Option<f64>,
    pub pending: Vec<Pending>,
    pub log: Vec<LogLine>,
    /// The run's first [`WARNINGS_KEPT`] warnings, which the log scrolls away, and their count.
    pub warnings: FirstKept<LogLine>,
    pub dialog: Option<Dialog>,
    pub metrics_view: MetricsView,
    pub window: Window,
    /// One line of feedback under the panels (a command line error, "read-only").
    pub notice: Option<String>,
    /// Ctrl-C presses (or signals) so far: the first stops gracefully, the next aborts.
    pub interrupts: usize,
    /// The event stream ended: nobody takes commands any more.
    pub trainer_gone: bool,
    pub quit: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
}

impl App {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            run: None,
            state: RunState::Starting,
            step: 0,
            epoch: 0,
            started_at: None,
            clock: 0.0,
            first_step: None,
            loss_scale: None,
            history: History::default(),
            freeze: FreezeMap::default(),
            hardware: Hardware::default(),
            last_epoch: None,
            best_epoch: None,
            summary: None,
            finished_at: None,
            pending: Vec::new(),
            log: Vec::new(),
            warnings: FirstKept::new(WARNINGS_KEPT),
            dialog: None,
            metrics_view: MetricsView::Overview,
            window: Window::Full,
            notice: None,
            interrupts: 0,
            trainer_gone: false,
            quit: false,
            dirty: true,
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self.state, RunState::Finished(_))
    }

    /// Whether keys can still reach a trainer.
    pub fn steerable(&self) -> bool {
        self.mode == Mode::Live && !self.finished() && !self.trainer_gone
    }

    pub fn push_log(&mut self, step: u64, kind: LogKind, text: impl Into<String>) {
        let line = LogLine {
            step,
            kind,
            text: text.into(),
        };
        if kind == LogKind::Warning {
            self.warnings.push(line.clone());
        }
        self.log.push(line);
        if self.log.len() > LOG_LINES {
            self.log.drain(..self.log.len() - LOG_LINES);
        }
    }

    /// Seconds since the run started, frozen when it finished.
    pub fn elapsed(&self) -> Option<f64> {
        let start = self.started_at?;
        Some((self.finished_at.unwrap_or(self.clock) - start).max(0.0))
    }

    /// Seconds left at the pace of this process's steps so far (validation included).
    pub fn eta(&self) -> Option<f64> {
        if self.finished() || self.state == RunState::Stopping {
            return None;
        }
        let run = self.run.as_ref()?;
        let (t0, s0) = self.first_step?;
        let done = self.step.checked_sub(s0).filter(|d| *d > 0)?;
        let total = (run.epochs * run.steps_per_epoch) as u64;
        let per_step = (self.clock - t0) / done as f64;
        Some(total.saturating_sub(self.step) as f64 * per_step.max(0.0))
    }
}
