//! `--no-tui`: plain lines on stdout (no escape codes, no carriage returns), commands from
//! stdin, Ctrl-C or SIGTERM for a graceful stop and a second Ctrl-C to abort.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use crate::commands::info::thousands;
use crate::first_kept::FirstKept;
use crate::train::command::{Command, Source, parse_command};
use crate::train::event::{Event, Record, Summary};
use crate::train::metrics::EvalMetrics;
use crate::train::trainer::TrainerHandle;

/// Prints the run until it ends and returns its summary.
pub fn run(handle: TrainerHandle, log_every: u64) -> anyhow::Result<Summary> {
    spawn_stdin_reader(handle.commands.clone());
    install_signal_handler(handle.commands.clone())?;
    let mut printer = Printer::new(log_every);
    let mut out = Some(std::io::stdout());
    for record in handle.events.iter() {
        if let (Some(line), Some(stdout)) = (printer.line(&record), out.as_mut()) {
            // A reader that went away (`kiln train ... | head`) stops the printing, not the run.
            if writeln!(stdout, "{line}").is_err() {
                out = None;
            }
        }
    }
    match handle.thread.join() {
        Ok(result) => result,
        Err(_) => anyhow::bail!("the trainer thread panicked; the run directory keeps its last checkpoint"),
    }
}

fn spawn_stdin_reader(commands: Sender<(Command, Source)>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            match parse_command(text) {
                Ok(command) => {
                    if commands.send((command, Source::Stdin)).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    });
}

fn install_signal_handler(commands: Sender<(Command, Source)>) -> anyhow::Result<()> {
    let presses = AtomicUsize::new(0);
    let commands = Arc::new(Mutex::new(commands));
    ctrlc::set_handler(move || {
        let command = match presses.fetch_add(1, Ordering::SeqCst) {
            0 => {
                eprintln!("stopping after this step (checkpoint, best weights, test); Ctrl-C again to abort");
                Command::Stop
            }
            _ => Command::Abort,
        };
        if let Ok(tx) = commands.lock() {
            let _ = tx.send((command, Source::Signal));
        }
    })?;
    Ok(())
}

/// Turns events into lines; steps only every `log_every`.
pub struct Printer {
    log_every: u64,
    epochs: usize,
    steps_per_epoch: usize,
    /// The latest hardware reading, printed with each epoch.
    hardware: Option<String>,
    /// The first [`RECAP`] warnings, repeated under the finished line (a long run's log has
    /// scrolled them away), and how many there were.
    warnings: FirstKept<String>,
    /// The run directory, for the commands to try next.
    run_dir: Option<String>,
}

/// Warnings repeated when the run ends.
const RECAP: usize = 10;

impl Printer {
    pub fn new(log_every: u64) -> Self {
        Self {
            log_every: log_every.max(1),
            epochs: 0,
            steps_per_epoch: 0,
            hardware: None,
            warnings: FirstKept::new(RECAP),
            run_dir: None,
        }
    }

    pub fn line(&mut self, r: &Record) -> Option<String> {
        Some(match &r.event {
            Event::Started(s) => {
                self.run_dir = Some(s.run_dir.clone());
                self.epochs = s.epochs;
                self.steps_per_epoch = s.steps_per_epoch;
                let total: usize = s.groups.iter().filter(|g| g.kind != "block").map(|g| g.params).sum();
                let lr =
                    s.lr.iter()
                        .map(|(g, v)| format!("{g} {v:.1e}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                let resumed = s
                    .resumed_from_step
                    .map(|st| format!(" (resumed at step {st})"))
                    .unwrap_or_default();
                let weights = if s.weights.is_empty() {
                    String::new()
                } else {
                    format!("\n  weights {}", s.weights)
                };
                format!(
                    "run {}{resumed}\n  model {} ({} parameters) on {}{weights}\n  data {}: {} classes, {} train / {} val / {} test images\n  lr {lr}\n  {} epochs x {} steps",
                    s.run_dir,
                    s.model,
                    thousands(total),
                    s.device,
                    s.data_root,
                    s.classes.len(),
                    s.train_images,
                    s.val_images,
                    s.test_images,
                    s.epochs,
                    s.steps_per_epoch
                )
            }
            Event::Step(s) => {
                if !r.step.is_multiple_of(self.log_every) {
                    return None;
                }
                let wait = s.data_wait_ms / s.step_ms.max(1e-9) * 100.0;
                let lr = s.lr.get("head").copied().unwrap_or(0.0);
                let backbone = s.lr.get("layer4").copied().unwrap_or(0.0);
                let scale = s.loss_scale.map(|v| format!(" loss scale {v}")).unwrap_or_default();
                format!(
                    "epoch {}/{} step {} loss {:.4} lr {backbone:.2e}/{lr:.2e} {:.1} img/s data wait {wait:.0}%{scale}",
                    r.epoch, self.epochs, r.step, s.loss, s.images_per_second
                )
            }
            Event::Epoch(e) => {
                format!(
                    "epoch {}/{} done in {:.1}s: train loss {:.4} acc {:.1}% | {}{}{}",
                    r.epoch,
                    self.epochs,
                    e.seconds,
                    e.train_loss,
                    e.train_accuracy * 100.0,
                    val_figures(&e.val),
                    if e.best { " (best)" } else { "" },
                    self.hardware
                        .as_ref()
                        .map(|h| format!("\n  hardware: {h}"))
                        .unwrap_or_default()
                )
            }
            Event::Command {
                command,
                source,
                detail,
            } => {
                format!("[step {}] {command} ({source}): {detail}", r.step)
            }
            Event::CommandRejected { text, source, reason } => {
                format!("[step {}] rejected '{text}' ({source}): {reason}", r.step)
            }
            Event::FreezeChanged {
                frozen,
                trainable_params,
            } => format!(
                "frozen: {} ({} trainable parameters)",
                if frozen.is_empty() {
                    "nothing".to_string()
                } else {
                    frozen.join(", ")
                },
                thousands(*trainable_params)
            ),
            Event::CheckpointSaved { which, path } => format!("[step {}] checkpoint {which}: {path}", r.step),
            Event::Warning { message } => {
                self.warnings.push(message.clone());
                format!("warning: {message}")
            }
            Event::Telemetry(sample) => {
                self.hardware = Some(sample.brief());
                return None;
            }
            Event::Finished(s) => finished_line(s) + &self.recap() + &self.next(s),
        })
    }

    /// What to run on the finished run's weights, if it has any.
    fn next(&self, s: &Summary) -> String {
        let next = self
            .run_dir
            .as_deref()
            .map(|dir| crate::commands::next_commands(s, dir));
        match next.filter(|n| !n.is_empty()) {
            Some(commands) => format!("\nnext: {}", commands.join("; ")),
            None => String::new(),
        }
    }

    /// "\nwarnings during the run (N):" and the first of them, if there were any.
    fn recap(&self) -> String {
        if self.warnings.count() == 0 {
            return String::new();
        }
        let mut text = format!("\nwarnings during the run ({}):", self.warnings.count());
        for w in self.warnings.kept() {
            text.push_str(&format!("\n  - {w}"));
        }
        if self.warnings.more() > 0 {
            text.push_str(&format!("\n  and {} more in events.jsonl", self.warnings.more()));
        }
        text
    }
}

/// "val loss 0.3000 acc 90.0% top5 99.0% f1 0.900 auc 0.950": top-5 (or label accuracy) and AUC
/// where the run has them.
fn val_figures(m: &EvalMetrics) -> String {
    if m.samples == 0 {
        return "no validation images".into();
    }
    let second = m
        .second_figure()
        .map(|(figure, value)| format!(" {} {:.1}%", figure.replace('-', ""), value * 100.0))
        .unwrap_or_default();
    let auc = m.auc.map(|a| format!(" auc {a:.3}")).unwrap_or_default();
    format!(
        "val loss {:.4} acc {:.1}%{second} f1 {:.3}{auc}",
        m.loss,
        m.accuracy * 100.0,
        m.f1_macro
    )
}

fn finished_line(s: &Summary) -> String {
    if s.status == crate::train::event::Status::Failed {
        // The error itself is the command's own last word (stderr); don't say it twice.
        return format!("finished: Failed after {} steps", s.steps);
    }
    let pct = |m: &Option<EvalMetrics>| {
        m.as_ref()
            .filter(|m| m.samples > 0)
            .map(|m| {
                let auc = m.auc.map(|a| format!(", auc {a:.3}")).unwrap_or_default();
                format!("{:.2}% (f1 {:.3}{auc})", m.accuracy * 100.0, m.f1_macro)
            })
            .unwrap_or_else(|| "-".into())
    };
    let skipped = match s.skipped_images {
        0 => String::new(),
        1 => "; 1 unreadable image left out".into(),
        n => format!("; {n} unreadable images left out"),
    };
    format!(
        "finished: {:?} after {} epochs, {} steps; best epoch {}; val {}; test {}; {:.1} img/s; {:.1} s{skipped}",
        s.status,
        s.epochs_run,
        s.steps,
        s.best_epoch.map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
        pct(&s.val),
        pct(&s.test),
        s.images_per_second,
        s.wall_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::event::{EpochInfo, StepInfo};

    #[test]
    fn a_step_line_shows_the_f16_loss_scale_when_there_is_one() {
        let mut printer = Printer::new(1);
        let step = |loss_scale| Record {
            time: 0.0,
            step: 3,
            epoch: 1,
            event: Event::Step(StepInfo {
                loss: 0.5,
                lr: [("head".to_string(), 1e-3), ("layer4".to_string(), 1e-4)].into(),
                grad_norm: 1.0,
                loss_scale,
                images_per_second: 10.0,
                data_wait_ms: 1.0,
                step_ms: 100.0,
            }),
        };
        let line = printer.line(&step(Some(32768.0))).unwrap();
        assert!(line.ends_with("data wait 1% loss scale 32768"), "{line}");
        let line = printer.line(&step(None)).unwrap();
        assert!(line.ends_with("data wait 1%"), "{line}");
    }

    #[test]
    fn the_finished_line_repeats_the_runs_warnings() {
        use crate::tui::fixtures::{record, summary};
        let mut printer = Printer::new(1);
        let done = || {
            record(
                0.0,
                22,
                2,
                Event::Finished(Box::new(summary(crate::train::event::Status::Completed))),
            )
        };
        assert!(!printer.line(&done()).unwrap().contains("warnings"));
        for i in 0..RECAP + 2 {
            let warning = Event::Warning {
                message: format!("number {i}"),
            };
            assert_eq!(
                printer.line(&record(0.0, 1, 1, warning)).unwrap(),
                format!("warning: number {i}")
            );
        }
        let text = printer.line(&done()).unwrap();
        let recap: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(recap[0], "warnings during the run (12):");
        assert_eq!(recap[1], "  - number 0");
        assert_eq!(recap[RECAP], "  - number 9");
        assert_eq!(recap[RECAP + 1], "  and 2 more in events.jsonl");
    }

    #[test]
    fn a_finished_run_names_the_commands_for_its_weights_if_it_kept_any() {
        use crate::train::event::Status;
        use crate::tui::fixtures::{record, started, summary};
        let mut printer = Printer::new(1);
        let mut start = started(&[]);
        start.run_dir = "runs/my run".into();
        printer.line(&record(0.0, 0, 1, Event::Started(Box::new(start))));
        let finished = |s: Summary| record(0.0, 22, 2, Event::Finished(Box::new(s)));
        let text = printer.line(&finished(summary(Status::Completed))).unwrap();
        assert_eq!(
            text.lines().last().unwrap(),
            "next: kiln evaluate --run 'runs/my run'; kiln predict --run 'runs/my run' IMAGE..."
        );
        let failed = printer.line(&finished(summary(Status::Failed))).unwrap();
        assert!(!failed.contains("next:"), "{failed}");
        // Aborted before any epoch ended: no checkpoint to evaluate.
        let aborted = Summary {
            best_epoch: None,
            ..summary(Status::Aborted)
        };
        let text = printer.line(&finished(aborted)).unwrap();
        assert!(!text.contains("next:"), "{text}");
        // No test split: the validation split is the one to look at.
        let untested = Summary {
            test: None,
            ..summary(Status::Completed)
        };
        let text = printer.line(&finished(untested)).unwrap();
        assert!(
            text.contains("next: kiln evaluate --run 'runs/my run' --split val;"),
            "{text}"
        );
    }

    #[test]
    fn an_epoch_line_has_top5_and_auc_only_where_there_are_such_figures() {
        use crate::tui::fixtures::{epoch_info, record};
        let mut printer = Printer::new(1);
        let mut epoch = epoch_info(0.3, true);
        let mut line = |epoch: &EpochInfo| {
            let record = record(0.0, 11, 1, Event::Epoch(Box::new(epoch.clone())));
            printer.line(&record).unwrap()
        };
        let all = line(&epoch);
        assert!(
            all.contains("| val loss 0.3000 acc 90.0% top5 99.0% f1 0.900 auc 0.950 (best)"),
            "{all}"
        );
        epoch.val.top5 = None;
        epoch.val.auc = None;
        let fewer = line(&epoch);
        assert!(fewer.contains("| val loss 0.3000 acc 90.0% f1 0.900 (best)"), "{fewer}");
        epoch.val.samples = 0;
        let none = line(&epoch);
        assert!(none.contains("| no validation images (best)"), "{none}");
    }
}
