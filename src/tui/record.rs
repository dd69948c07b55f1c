//! Folds one trainer record into the dashboard's state.

use crate::commands::info::thousands;
use crate::train::command::Command;
use crate::train::event::{Event, Record, Started, Status};

use super::app::{App, Dialog, LogKind, RunState};
use super::freeze_map::FreezeMap;

pub fn apply(app: &mut App, r: Record) {
    app.dirty = true;
    app.step = r.step;
    app.epoch = r.epoch;
    app.clock = app.clock.max(r.time);
    match r.event {
        Event::Started(s) => started(app, r.time, s),
        Event::Step(s) => {
            app.first_step.get_or_insert((r.time, r.step));
            app.loss_scale = s.loss_scale;
            app.history.push_step(r.step, &s);
            app.hardware.push_step(&s);
            if app.state == RunState::Starting {
                app.state = RunState::Running;
            }
        }
        Event::Epoch(e) => {
            app.history.push_epoch(r.step, &e);
            if e.best {
                app.best_epoch = Some(r.epoch);
            }
            let text = format!(
                "epoch {} done: val loss {:.4} acc {:.1}% f1 {:.3}{}",
                r.epoch,
                e.val.loss,
                e.val.accuracy * 100.0,
                e.val.f1_macro,
                if e.best { " (best)" } else { "" }
            );
            app.push_log(r.step, LogKind::Info, text);
            app.last_epoch = Some(e);
        }
        Event::Command {
            command,
            source,
            detail,
        } => {
            if let Some(i) = app
                .pending
                .iter()
                .position(|p| p.command == command && p.source == source)
            {
                app.pending.remove(i);
            }
            match command {
                Command::Pause => app.state = RunState::Paused,
                Command::Resume => app.state = RunState::Running,
                Command::Stop | Command::Abort => app.state = RunState::Stopping,
                _ => {}
            }
            app.history.mark(r.step, command.to_string());
            app.push_log(r.step, LogKind::Applied, format!("{command} ({source}): {detail}"));
        }
        Event::CommandRejected { text, source, reason } => {
            if let Some(i) = app
                .pending
                .iter()
                .position(|p| p.command.to_string() == text && p.source == source)
            {
                app.pending.remove(i);
            }
            app.push_log(
                r.step,
                LogKind::Rejected,
                format!("rejected '{text}' ({source}): {reason}"),
            );
        }
        Event::FreezeChanged {
            frozen,
            trainable_params,
        } => {
            app.freeze.set_frozen(&frozen);
            app.freeze.trainable_params = Some(trainable_params);
            let names = if frozen.is_empty() {
                "nothing".into()
            } else {
                frozen.join(", ")
            };
            let text = format!("frozen: {names} ({} trainable)", thousands(trainable_params));
            app.push_log(r.step, LogKind::Info, text);
        }
        Event::CheckpointSaved { which, path } => {
            app.push_log(r.step, LogKind::Checkpoint, format!("checkpoint {which}: {path}"));
        }
        Event::Warning { message } => app.push_log(r.step, LogKind::Warning, message),
        Event::Telemetry(sample) => app.hardware.push_sample(*sample),
        Event::Finished(summary) => {
            app.state = RunState::Finished(summary.status);
            app.finished_at = Some(r.time);
            for p in std::mem::take(&mut app.pending) {
                let text = format!("'{}' was not applied: the run ended first", p.command);
                app.push_log(r.step, LogKind::Rejected, text);
            }
            let text = match (&summary.error, summary.status) {
                (Some(e), _) => format!("finished: failed: {e}"),
                (None, Status::Failed) => "finished: failed".into(),
                (None, s) => format!("finished: {}", s.as_str()),
            };
            app.push_log(r.step, LogKind::Info, text);
            app.summary = Some(summary);
            // The trainer is gone: whatever dialog was open has nothing left to act on.
            app.dialog = Some(Dialog::Summary);
        }
    }
}

fn started(app: &mut App, time: f64, s: Box<Started>) {
    let frozen_bn_trains = toml::from_str::<toml::Table>(&s.config)
        .ok()
        .and_then(|t| t.get("train")?.get("frozen_bn")?.as_str().map(|v| v == "train"))
        .unwrap_or(false);
    app.freeze = FreezeMap::new(s.groups.clone(), &s.frozen, frozen_bn_trains);
    // A resumed run keeps the start of its first part (replays read both).
    app.started_at.get_or_insert(time);
    app.state = RunState::Running;
    let resumed = s
        .resumed_from_step
        .map(|st| format!(", resumed at step {st}"))
        .unwrap_or_default();
    let text = format!("started {} on {}{resumed}", s.model, s.device);
    app.push_log(app.step, LogKind::Info, text);
    if !s.weights.is_empty() {
        app.push_log(app.step, LogKind::Info, format!("weights {}", s.weights));
    }
    app.run = Some(s);
}
