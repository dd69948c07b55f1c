//! The event log: commands applied or rejected (with their step), scheduled unfreezes,
//! checkpoints, warnings, epochs; then the commands still pending.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, title_style};
use crate::tui::app::{App, LogKind, LogLine};

/// "step 123456 ✓ ": what comes before an entry's text; its continuation lines indent by it.
pub(super) const PREFIX: usize = 14;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" events ", title_style()));
    let inner = block.inner(area);
    let (height, width) = (inner.height as usize, (inner.width as usize).saturating_sub(PREFIX));
    let pending: Vec<Line> = app
        .pending
        .iter()
        .map(|p| {
            Line::from(vec![
                Span::styled(format!("step {:>6} ", p.sent_at), dim()),
                Span::styled(format!("… {} pending", p.command), Style::new().fg(Color::Yellow)),
            ])
        })
        .collect();
    // The newest at the bottom, as in a terminal: entries are wrapped newest first, only
    // until the panel is full (the log keeps hundreds; a frame shows a handful).
    let room = height.saturating_sub(pending.len());
    let mut entries: Vec<Vec<Line>> = Vec::new();
    let mut filled = 0;
    for l in app.log.iter().rev() {
        if filled >= room {
            break;
        }
        let entry = entry_lines(l, width);
        filled += entry.len();
        entries.push(entry);
    }
    let mut lines: Vec<Line> = entries.into_iter().rev().flatten().collect();
    lines.extend(pending);
    let skip = lines.len().saturating_sub(height);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// One entry's lines: "step N ✓ text", long text wrapped under itself (an error with its
/// remedy must not lose its end).
pub(super) fn entry_lines(l: &LogLine, width: usize) -> Vec<Line<'static>> {
    let (mark, color) = match l.kind {
        LogKind::Info => ("·", Color::Reset),
        LogKind::Applied => ("✓", Color::Green),
        LogKind::Rejected => ("✗", Color::Red),
        LogKind::Warning => ("!", Color::Yellow),
        LogKind::Checkpoint => ("■", Color::Blue),
    };
    wrap(&l.text, width)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            Line::from(if i == 0 {
                vec![
                    Span::styled(format!("step {:>6} ", l.step), dim()),
                    Span::styled(format!("{mark} "), Style::new().fg(color)),
                    Span::raw(part),
                ]
            } else {
                vec![Span::raw(" ".repeat(PREFIX)), Span::raw(part)]
            })
        })
        .collect()
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        // A word longer than a line is cut.
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let used = line.chars().count();
        if used > 0 && used + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.extend(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::command::{Command, Source};
    use crate::train::event::Event;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, press, record, render};
    use crate::tui::update::{Msg, update};
    use crossterm::event::KeyCode;

    #[test]
    fn log_shows_pending_then_applied_with_the_step() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        press(&mut app, KeyCode::Char('+'));
        let text = render(90, 6, |f| draw(&app, f, f.area()));
        assert!(text.contains("step     22 … lr *2 pending"), "{text}");
        let applied = Event::Command {
            command: Command::ScaleLr(2.0),
            source: Source::Key,
            detail: "stem 2.00e-3, head 6.00e-3".into(),
        };
        update(&mut app, Msg::Record(Box::new(record(1050.0, 24, 3, applied))));
        let text = render(90, 6, |f| draw(&app, f, f.area()));
        assert!(!text.contains("pending"), "{text}");
        assert!(
            text.contains("step     24 ✓ lr *2 (key): stem 2.00e-3, head 6.00e-3"),
            "{text}"
        );
        assert!(
            text.contains("epoch 2 done: val loss 0.5000 acc 90.0% f1 0.900 (best)"),
            "{text}"
        );
    }

    #[test]
    fn a_long_entry_wraps_under_its_text_instead_of_losing_its_end() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let message = "train.device = \"cuda:0\": this kiln was built without CUDA; rebuild with \
                       `cargo build --release --features cuda`, or use --device cpu";
        let warning = Event::Warning {
            message: message.into(),
        };
        update(&mut app, Msg::Record(Box::new(record(1050.0, 24, 3, warning))));
        let text = render(60, 8, |f| draw(&app, f, f.area()));
        let rows: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("step     24 ! "))
            .map(|l| l.trim_start_matches('│').trim_end_matches('│'))
            .take_while(|l| !l.starts_with('└'))
            .collect();
        assert!(rows.len() > 1, "{text}");
        for row in &rows[1..] {
            assert!(
                row.starts_with(&" ".repeat(PREFIX)),
                "continuation lines indent: {text}"
            );
        }
        // Every word is on screen, in order.
        let joined: String = rows
            .iter()
            .map(|r| r.chars().skip(PREFIX).collect::<String>().trim().to_string())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(joined, message, "{text}");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_only_words_longer_than_a_line() {
        assert_eq!(wrap("one two three", 8), ["one two", "three"]);
        assert_eq!(
            wrap("a /very/long/path/name b", 8),
            ["a", "/very/lo", "ng/path/", "name b"]
        );
        assert_eq!(wrap("", 8), [""]);
        assert!(wrap(&"word ".repeat(40), 30).iter().all(|l| l.chars().count() <= 30));
    }
}
