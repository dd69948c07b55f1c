//! The bottom line: the keys, a notice when there is one, or the `:` command line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::dim;
use crate::tui::app::{App, Dialog, Mode};

const LIVE: &[(&str, &str)] = &[
    ("+/-", "lr ×2/÷2"),
    (":", "command"),
    ("↑↓", "select"),
    ("space", "freeze"),
    ("u", "unfreeze next"),
    ("p", "pause"),
    ("s", "save"),
    ("w", "window"),
    ("tab", "view"),
    ("?", "help"),
    ("q", "quit"),
];

const READ_ONLY: &[(&str, &str)] = &[
    ("↑↓→←", "freeze map"),
    ("w", "window"),
    ("tab", "view"),
    ("?", "help"),
    ("q", "leave"),
];

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let key = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let line = if let Some(Dialog::CommandLine(text)) = &app.dialog {
        let mut spans = vec![
            Span::styled(":", key),
            Span::raw(text.clone()),
            Span::styled("█", Style::new().fg(Color::Cyan)),
        ];
        if let Some(notice) = &app.notice {
            spans.push(Span::styled(format!("  {notice}"), Style::new().fg(Color::Red)));
        } else {
            spans.push(Span::styled("  enter sends · esc cancels", dim()));
        }
        Line::from(spans)
    } else if let Some(notice) = &app.notice {
        Line::from(vec![
            Span::styled(notice.clone(), Style::new().fg(Color::Yellow)),
            Span::styled("  (esc)", dim()),
        ])
    } else {
        let keys = match app.mode {
            Mode::Live if app.steerable() => LIVE,
            _ => READ_ONLY,
        };
        let mut spans = Vec::new();
        for (k, what) in keys {
            spans.push(Span::styled(*k, key));
            spans.push(Span::raw(format!(" {what}  ")));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
