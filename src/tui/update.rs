//! The one way the dashboard's state changes: a message in, the commands to send out.
//! Pure, so every key and record can be tested without a terminal or a trainer.

use crossterm::event::KeyEvent;

use crate::train::command::{Command, Source};
use crate::train::event::Record;

use super::app::{App, LogKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A key press (releases and repeats are filtered out before this).
    Key(KeyEvent),
    Record(Box<Record>),
    /// The redraw clock, in Unix seconds.
    Tick(f64),
    /// SIGINT or SIGTERM from outside the terminal.
    Interrupt,
    /// The event stream ended.
    Disconnected,
    Resize,
}

/// A command for the trainer and who asked for it.
pub type Outgoing = (Command, Source);

pub fn update(app: &mut App, msg: Msg) -> Vec<Outgoing> {
    match msg {
        Msg::Key(key) => {
            app.dirty = true;
            super::keys::handle(app, key)
        }
        Msg::Record(r) => {
            super::record::apply(app, *r);
            Vec::new()
        }
        Msg::Tick(now) => {
            // The header's clock shows whole seconds: redraw when it would change.
            if now.floor() != app.clock.floor() && !app.finished() {
                app.dirty = true;
            }
            app.clock = app.clock.max(now);
            Vec::new()
        }
        Msg::Interrupt => {
            app.dirty = true;
            super::keys::interrupt(app, Source::Signal)
        }
        Msg::Disconnected => {
            if !app.finished() && !app.trainer_gone {
                let text = "the trainer ended without a summary; q leaves and shows why";
                app.push_log(app.step, LogKind::Warning, text);
            }
            app.trainer_gone = true;
            app.dirty = true;
            Vec::new()
        }
        Msg::Resize => {
            app.dirty = true;
            Vec::new()
        }
    }
}
