//! The event loop: one tokio task on the current thread that waits on keys (crossterm's event
//! stream), records, signals and a redraw tick, turns each into a message for `update`, sends
//! the commands that come back, and draws at most [`FRAME`]-ly when something changed.

use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

use super::app::App;
use super::terminal::Session;
use super::update::{Msg, update};
use super::view::view;
use crate::train::command::{Command, Source};
use crate::train::event::Record;

/// The redraw tick: at most 10 frames a second, however fast steps come.
pub const FRAME: Duration = Duration::from_millis(100);

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Runs the dashboard on a terminal already taken over, until the user leaves; returns the
/// final state. The terminal is given back when `session` drops.
pub fn run(
    mut session: Session,
    app: App,
    records: UnboundedReceiver<Record>,
    commands: Option<&Sender<(Command, Source)>>,
) -> anyhow::Result<App> {
    let rt = runtime()?;
    rt.block_on(event_loop(&mut session, app, records, commands))
}

async fn event_loop(
    session: &mut Session,
    mut app: App,
    mut records: UnboundedReceiver<Record>,
    commands: Option<&Sender<(Command, Source)>>,
) -> anyhow::Result<App> {
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut signals = Signals::new()?;
    let mut open = true;
    loop {
        let msg = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(event)) => match message(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(e)) => return Err(e.into()),
                None => anyhow::bail!("the terminal closed"),
            },
            record = records.recv(), if open => match record {
                Some(r) => Msg::Record(Box::new(r)),
                None => {
                    open = false;
                    Msg::Disconnected
                }
            },
            () = signals.next() => Msg::Interrupt,
            _ = tick.tick() => Msg::Tick(now()),
        };
        let frame_due = matches!(msg, Msg::Tick(_));
        for outgoing in update(&mut app, msg) {
            let sent = commands.is_some_and(|tx| tx.send(outgoing).is_ok());
            if !sent {
                update(&mut app, Msg::Disconnected);
            }
        }
        if app.quit {
            return Ok(app);
        }
        if frame_due && app.dirty {
            anyhow::ensure!(
                Session::active(),
                "a panic gave the terminal back (the message is above)"
            );
            session.terminal.draw(|f| view(&app, f))?;
            app.dirty = false;
        }
    }
}

/// The message for a terminal event, if it is one the dashboard acts on.
fn message(event: TermEvent) -> Option<Msg> {
    match event {
        // Key releases and repeats (kitty keyboard protocol, Windows) must not act twice.
        TermEvent::Key(k) if k.kind == KeyEventKind::Press => Some(Msg::Key(k)),
        TermEvent::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

/// A screen that only shows something (`kiln compare`): redrawn on resize, left with q, esc
/// or Ctrl-C.
pub fn show_static(draw: impl Fn(&mut ratatui::Frame)) -> anyhow::Result<()> {
    let rt = runtime()?;
    let mut session = Session::start()?;
    let result = rt.block_on(async {
        let mut keys = EventStream::new();
        session.terminal.draw(&draw)?;
        while let Some(event) = keys.next().await {
            match event? {
                TermEvent::Key(k) if k.kind == KeyEventKind::Press => {
                    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                    if ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc) {
                        break;
                    }
                }
                TermEvent::Resize(..) => {
                    session.terminal.draw(&draw)?;
                }
                _ => {}
            }
        }
        anyhow::Ok(())
    });
    drop(session);
    result
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// SIGINT and SIGTERM from outside (in raw mode Ctrl-C is a key, not a signal).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEvent;

    #[test]
    fn only_key_presses_become_messages() {
        let press = KeyEvent::from(KeyCode::Char('+'));
        assert_eq!(message(TermEvent::Key(press)), Some(Msg::Key(press)));
        for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
            let other = KeyEvent { kind, ..press };
            assert_eq!(message(TermEvent::Key(other)), None);
        }
        assert_eq!(message(TermEvent::Resize(80, 24)), Some(Msg::Resize));
        assert_eq!(message(TermEvent::FocusGained), None);
    }
}
