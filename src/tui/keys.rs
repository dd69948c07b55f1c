//! What each key does. Keys that steer the run become commands (marked pending until the
//! trainer reports them applied); the rest move around the dashboard.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::train::command::{Command, Source, parse_command};

use super::app::{App, Dialog, Mode, Pending, RunState, Window};
use super::freeze_map::Freeze;
use super::update::Outgoing;

/// `+` multiplies every group's learning rate by this, `-` divides by it.
pub const LR_FACTOR: f64 = 2.0;

pub fn handle(app: &mut App, key: KeyEvent) -> Vec<Outgoing> {
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return interrupt(app, Source::Key);
    }
    match app.dialog.clone() {
        Some(Dialog::Help) => {
            app.dialog = None;
            Vec::new()
        }
        Some(Dialog::Quit) => quit_dialog(app, key.code),
        Some(Dialog::CommandLine(text)) => command_line(app, text, key.code),
        Some(Dialog::Warnings(first)) => {
            warnings_list(app, first, key.code);
            Vec::new()
        }
        Some(Dialog::Summary) => {
            match key.code {
                KeyCode::Char('q') => app.quit = true,
                KeyCode::Char('!') => app.dialog = Some(Dialog::Warnings(0)),
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char(' ') => app.dialog = None,
                _ => {}
            }
            Vec::new()
        }
        None => panels(app, key.code),
    }
}

/// Ctrl-C or a signal: a graceful stop first, an abort the second time; leaves a run that ended.
pub fn interrupt(app: &mut App, source: Source) -> Vec<Outgoing> {
    if !app.steerable() {
        app.quit = true;
        return Vec::new();
    }
    app.interrupts += 1;
    if app.interrupts == 1 {
        app.notice = Some("stopping gracefully (checkpoint, best weights, test); Ctrl-C again aborts".into());
        send(app, Command::Stop, source)
    } else {
        send(app, Command::Abort, source)
    }
}

fn panels(app: &mut App, code: KeyCode) -> Vec<Outgoing> {
    let key = Source::Key;
    match code {
        KeyCode::Char('+') | KeyCode::Char('=') => send(app, Command::ScaleLr(LR_FACTOR), key),
        KeyCode::Char('-') | KeyCode::Char('_') => send(app, Command::ScaleLr(1.0 / LR_FACTOR), key),
        KeyCode::Char('u') => send(app, Command::UnfreezeNext, key),
        KeyCode::Char('s') => send(app, Command::Checkpoint, key),
        KeyCode::Char('p') => {
            let command = if paused_or_pausing(app) {
                Command::Resume
            } else {
                Command::Pause
            };
            send(app, command, key)
        }
        KeyCode::Char(' ') | KeyCode::Char('f') => match app.freeze.selected_group() {
            Some(g) => {
                let command = match app.freeze.state(&g.name) {
                    Freeze::Frozen => Command::Unfreeze(g.name.clone()),
                    Freeze::Training | Freeze::Partly => Command::Freeze(g.name.clone()),
                };
                send(app, command, key)
            }
            None => Vec::new(),
        },
        KeyCode::Char(':') => {
            if steerable_or_say_why(app) {
                app.dialog = Some(Dialog::CommandLine(String::new()));
            }
            Vec::new()
        }
        KeyCode::Char('q') => {
            if app.steerable() {
                app.dialog = Some(Dialog::Quit);
            } else {
                app.quit = true;
            }
            Vec::new()
        }
        other => {
            navigate(app, other);
            Vec::new()
        }
    }
}

/// Keys that only change what is shown.
fn navigate(app: &mut App, code: KeyCode) {
    match code {
        KeyCode::Up | KeyCode::Char('k') => app.freeze.move_selection(-1),
        KeyCode::Down | KeyCode::Char('j') => app.freeze.move_selection(1),
        KeyCode::Right | KeyCode::Char('l') => app.freeze.toggle_expanded(Some(true)),
        KeyCode::Left | KeyCode::Char('h') => app.freeze.toggle_expanded(Some(false)),
        KeyCode::Enter => app.freeze.toggle_expanded(None),
        KeyCode::Tab => app.metrics_view = app.metrics_view.next(),
        KeyCode::BackTab => app.metrics_view = app.metrics_view.next().next(),
        KeyCode::Char('w') => {
            app.window = match app.window {
                Window::Full => Window::Recent,
                Window::Recent => Window::Full,
            }
        }
        KeyCode::Char('?') => app.dialog = Some(Dialog::Help),
        KeyCode::Char('!') => app.dialog = Some(Dialog::Warnings(0)),
        KeyCode::Esc => app.notice = None,
        _ => {}
    }
}

/// The warnings list scrolls a warning at a time (or a page of them); other keys close it.
fn warnings_list(app: &mut App, first: usize, code: KeyCode) {
    const PAGE: usize = 5;
    let last = app.warnings.kept().len().saturating_sub(1);
    let first = match code {
        KeyCode::Up | KeyCode::Char('k') => first.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => first + 1,
        KeyCode::PageUp => first.saturating_sub(PAGE),
        KeyCode::PageDown => first + PAGE,
        KeyCode::Home => 0,
        KeyCode::End => last,
        _ => {
            app.dialog = None;
            return;
        }
    };
    app.dialog = Some(Dialog::Warnings(first.min(last)));
}

fn quit_dialog(app: &mut App, code: KeyCode) -> Vec<Outgoing> {
    let command = match code {
        KeyCode::Char('g') | KeyCode::Char('s') | KeyCode::Enter => Command::Stop,
        KeyCode::Char('a') => Command::Abort,
        KeyCode::Char('c') | KeyCode::Char('q') | KeyCode::Esc => {
            app.dialog = None;
            return Vec::new();
        }
        _ => return Vec::new(),
    };
    app.dialog = None;
    // A Ctrl-C after this aborts, as after a first Ctrl-C.
    app.interrupts = app.interrupts.max(1);
    send(app, command, Source::Key)
}

fn command_line(app: &mut App, mut text: String, code: KeyCode) -> Vec<Outgoing> {
    match code {
        KeyCode::Esc => app.dialog = None,
        KeyCode::Backspace => {
            if text.pop().is_none() {
                app.dialog = None;
            } else {
                app.dialog = Some(Dialog::CommandLine(text));
            }
        }
        KeyCode::Char(c) => {
            text.push(c);
            app.dialog = Some(Dialog::CommandLine(text));
        }
        KeyCode::Enter => match parse_command(&text) {
            Ok(command) => {
                app.dialog = None;
                app.notice = None;
                return send(app, command, Source::Key);
            }
            // The line stays open with its text so the mistake can be fixed.
            Err(e) => app.notice = Some(e.to_string()),
        },
        _ => {}
    }
    Vec::new()
}

fn paused_or_pausing(app: &App) -> bool {
    let pending = app.pending.iter().rev().find_map(|p| match p.command {
        Command::Pause => Some(true),
        Command::Resume => Some(false),
        _ => None,
    });
    pending.unwrap_or(app.state == RunState::Paused)
}

fn steerable_or_say_why(app: &mut App) -> bool {
    if app.steerable() {
        return true;
    }
    app.notice = Some(match app.mode {
        Mode::ReadOnly => "read-only: this is a replay of the run's events".into(),
        Mode::Live => "the run has ended: nothing takes commands now".into(),
    });
    false
}

/// Sends a command and shows it pending until the trainer says it applied (or rejected) it.
fn send(app: &mut App, command: Command, source: Source) -> Vec<Outgoing> {
    if !steerable_or_say_why(app) {
        return Vec::new();
    }
    app.pending.push(Pending {
        command: command.clone(),
        source,
        sent_at: app.step,
    });
    vec![(command, source)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::event::{Event, Status};
    use crate::tui::fixtures::{mid_run, press, record, summary};
    use crate::tui::update::{Msg, update};

    fn typed(app: &mut App, text: &str) -> Vec<Outgoing> {
        let mut out = press(app, KeyCode::Char(':'));
        for c in text.chars() {
            out.extend(press(app, KeyCode::Char(c)));
        }
        out.extend(press(app, KeyCode::Enter));
        out
    }

    fn live() -> App {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        app
    }

    fn key(command: Command) -> Vec<Outgoing> {
        vec![(command, Source::Key)]
    }

    #[test]
    fn each_key_sends_its_command() {
        let mut app = live();
        assert_eq!(press(&mut app, KeyCode::Char('+')), key(Command::ScaleLr(2.0)));
        assert_eq!(press(&mut app, KeyCode::Char('-')), key(Command::ScaleLr(0.5)));
        assert_eq!(press(&mut app, KeyCode::Char('u')), key(Command::UnfreezeNext));
        assert_eq!(press(&mut app, KeyCode::Char('s')), key(Command::Checkpoint));
        assert_eq!(press(&mut app, KeyCode::Char('p')), key(Command::Pause));
        // Pause is still pending: the next p undoes it.
        assert_eq!(press(&mut app, KeyCode::Char('p')), key(Command::Resume));
        assert_eq!(typed(&mut app, "lr 1e-4"), key(Command::SetLr(1e-4)));
        assert_eq!(
            typed(&mut app, "unfreeze layer1"),
            key(Command::Unfreeze("layer1".into()))
        );
        assert_eq!(app.pending.len(), 8);
        assert!(app.pending.iter().all(|p| p.sent_at == 22 && p.source == Source::Key));
    }

    #[test]
    fn space_and_f_freeze_or_unfreeze_the_selected_row() {
        let mut app = live();
        // stem and layer1 are frozen.
        assert_eq!(
            press(&mut app, KeyCode::Char(' ')),
            key(Command::Unfreeze("stem".into()))
        );
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Down);
        assert_eq!(
            press(&mut app, KeyCode::Char('f')),
            key(Command::Freeze("layer2".into()))
        );
        press(&mut app, KeyCode::Right);
        press(&mut app, KeyCode::Down);
        assert_eq!(
            press(&mut app, KeyCode::Char('f')),
            key(Command::Freeze("layer2.0".into()))
        );
        press(&mut app, KeyCode::Left);
        press(&mut app, KeyCode::Up);
        assert_eq!(
            press(&mut app, KeyCode::Char(' ')),
            key(Command::Unfreeze("layer1".into()))
        );
    }

    #[test]
    fn q_asks_graceful_abort_or_cancel() {
        let mut app = live();
        assert!(press(&mut app, KeyCode::Char('q')).is_empty());
        assert_eq!(app.dialog, Some(Dialog::Quit));
        assert!(press(&mut app, KeyCode::Esc).is_empty());
        assert_eq!(app.dialog, None);
        press(&mut app, KeyCode::Char('q'));
        assert!(press(&mut app, KeyCode::Char('x')).is_empty(), "other keys do nothing");
        assert_eq!(press(&mut app, KeyCode::Char('g')), key(Command::Stop));
        assert_eq!(app.dialog, None);
        assert!(!app.quit, "the dashboard stays until the run has ended");
        press(&mut app, KeyCode::Char('q'));
        assert_eq!(press(&mut app, KeyCode::Char('a')), key(Command::Abort));
    }

    #[test]
    fn ctrl_c_stops_then_aborts_and_signals_do_the_same() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let mut app = live();
        assert_eq!(update(&mut app, Msg::Key(ctrl_c)), key(Command::Stop));
        assert!(app.notice.as_deref().unwrap().contains("again aborts"));
        assert_eq!(update(&mut app, Msg::Key(ctrl_c)), key(Command::Abort));
        let mut app = live();
        assert_eq!(update(&mut app, Msg::Interrupt), vec![(Command::Stop, Source::Signal)]);
        let done = Event::Finished(Box::new(summary(Status::Stopped)));
        update(&mut app, Msg::Record(Box::new(record(1060.0, 22, 2, done))));
        assert!(update(&mut app, Msg::Key(ctrl_c)).is_empty());
        assert!(app.quit, "after the run, Ctrl-C leaves");
    }

    #[test]
    fn a_bad_command_line_stays_open_with_the_reason() {
        let mut app = live();
        assert!(typed(&mut app, "lr fast").is_empty());
        assert_eq!(app.dialog, Some(Dialog::CommandLine("lr fast".into())));
        assert!(app.notice.as_deref().unwrap().contains("'fast' is not a number"));
        for _ in 0..4 {
            press(&mut app, KeyCode::Backspace);
        }
        for c in "1e-3".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        assert_eq!(press(&mut app, KeyCode::Enter), key(Command::SetLr(1e-3)));
        assert_eq!(app.dialog, None);
        assert_eq!(app.notice, None);
        // Keys typed on the command line are text, not shortcuts.
        press(&mut app, KeyCode::Char(':'));
        assert!(press(&mut app, KeyCode::Char('q')).is_empty());
        assert!(press(&mut app, KeyCode::Char('u')).is_empty());
        assert_eq!(app.dialog, Some(Dialog::CommandLine("qu".into())));
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.dialog, None);
    }

    #[test]
    fn views_help_and_window_keys_send_nothing() {
        let mut app = live();
        assert!(press(&mut app, KeyCode::Tab).is_empty());
        assert_eq!(app.metrics_view, crate::tui::app::MetricsView::Confusion);
        press(&mut app, KeyCode::BackTab);
        assert_eq!(app.metrics_view, crate::tui::app::MetricsView::Overview);
        press(&mut app, KeyCode::Char('w'));
        assert_eq!(app.window, Window::Recent);
        press(&mut app, KeyCode::Char('?'));
        assert_eq!(app.dialog, Some(Dialog::Help));
        assert!(
            press(&mut app, KeyCode::Char('+')).is_empty(),
            "help takes the next key"
        );
        assert_eq!(app.dialog, None);
        assert!(app.pending.is_empty());
    }

    #[test]
    fn a_replay_sends_nothing_and_q_leaves_at_once() {
        let mut app = App::new(Mode::ReadOnly);
        mid_run(&mut app);
        assert!(press(&mut app, KeyCode::Char('+')).is_empty());
        assert!(app.notice.as_deref().unwrap().starts_with("read-only"));
        assert!(press(&mut app, KeyCode::Char(':')).is_empty());
        assert_eq!(app.dialog, None);
        press(&mut app, KeyCode::Char('q'));
        assert!(app.quit);
    }

    #[test]
    fn pending_becomes_applied_or_rejected_on_the_trainers_word() {
        let mut app = live();
        press(&mut app, KeyCode::Char('+'));
        press(&mut app, KeyCode::Char('u'));
        typed(&mut app, "lr 1e-4");
        assert_eq!(app.pending.len(), 3);
        let applied = |command| Event::Command {
            command,
            source: Source::Key,
            detail: "done".into(),
        };
        update(
            &mut app,
            Msg::Record(Box::new(record(1050.0, 23, 3, applied(Command::ScaleLr(2.0))))),
        );
        let left: Vec<String> = app.pending.iter().map(|p| p.command.to_string()).collect();
        assert_eq!(left, ["unfreeze next", "lr 0.0001"]);
        // The same command from stdin is not ours.
        let stdin = Event::Command {
            command: Command::SetLr(1e-4),
            source: Source::Stdin,
            detail: String::new(),
        };
        update(&mut app, Msg::Record(Box::new(record(1050.0, 23, 3, stdin))));
        assert_eq!(app.pending.len(), 2);
        let rejected = Event::CommandRejected {
            text: "unfreeze next".into(),
            source: Source::Key,
            reason: "nothing is frozen".into(),
        };
        update(&mut app, Msg::Record(Box::new(record(1051.0, 24, 3, rejected))));
        assert_eq!(app.pending.len(), 1);
        assert!(app.log.last().unwrap().text.contains("nothing is frozen"));
        update(
            &mut app,
            Msg::Record(Box::new(record(1052.0, 25, 3, applied(Command::SetLr(1e-4))))),
        );
        assert!(app.pending.is_empty());
        assert_eq!(app.history.marks.iter().map(|m| m.0).collect::<Vec<_>>(), [23, 23, 25]);
        // Pause and stop show in the run state once applied, not before.
        press(&mut app, KeyCode::Char('p'));
        assert_eq!(app.state, RunState::Running);
        update(
            &mut app,
            Msg::Record(Box::new(record(1053.0, 25, 3, applied(Command::Pause)))),
        );
        assert_eq!(app.state, RunState::Paused);
        update(
            &mut app,
            Msg::Record(Box::new(record(1054.0, 25, 3, applied(Command::Stop)))),
        );
        assert_eq!(app.state, RunState::Stopping);
    }

    #[test]
    fn commands_still_pending_when_the_run_ends_are_reported_unapplied() {
        let mut app = live();
        press(&mut app, KeyCode::Char('s'));
        let done = Event::Finished(Box::new(summary(Status::Completed)));
        update(&mut app, Msg::Record(Box::new(record(1060.0, 22, 2, done))));
        assert!(app.pending.is_empty());
        assert!(app.log.iter().any(|l| l.text.contains("'save' was not applied")));
        assert_eq!(app.dialog, Some(Dialog::Summary));
        assert!(press(&mut app, KeyCode::Char('+')).is_empty(), "the summary takes keys");
        press(&mut app, KeyCode::Esc);
        assert!(press(&mut app, KeyCode::Char('+')).is_empty(), "nobody to send to");
        assert!(app.notice.as_deref().unwrap().contains("the run has ended"));
        press(&mut app, KeyCode::Char('q'));
        assert!(app.quit);
    }
}
