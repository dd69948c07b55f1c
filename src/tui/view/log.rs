//! The event log: commands applied or rejected (with their step), scheduled unfreezes,
//! checkpoints, warnings, epochs; then the commands still pending.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{dim, title_style};
use crate::tui::app::{App, LogKind};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" events ", title_style()));
    let height = block.inner(area).height as usize;
    let mut lines: Vec<Line> = app
        .log
        .iter()
        .map(|l| {
            let (mark, color) = match l.kind {
                LogKind::Info => ("·", Color::Reset),
                LogKind::Applied => ("✓", Color::Green),
                LogKind::Rejected => ("✗", Color::Red),
                LogKind::Warning => ("!", Color::Yellow),
                LogKind::Checkpoint => ("■", Color::Blue),
            };
            Line::from(vec![
                Span::styled(format!("step {:>6} ", l.step), dim()),
                Span::styled(format!("{mark} "), Style::new().fg(color)),
                Span::raw(l.text.clone()),
            ])
        })
        .collect();
    for p in &app.pending {
        lines.push(Line::from(vec![
            Span::styled(format!("step {:>6} ", p.sent_at), dim()),
            Span::styled(format!("… {} pending", p.command), Style::new().fg(Color::Yellow)),
        ]));
    }
    // The newest at the bottom, as in a terminal.
    let skip = lines.len().saturating_sub(height);
    let lines: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::command::{Command, Source};
    use crate::train::event::Event;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, record, render};
    use crate::tui::update::{Msg, update};
    use crossterm::event::{KeyCode, KeyEvent};

    #[test]
    fn log_shows_pending_then_applied_with_the_step() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        update(&mut app, Msg::Key(KeyEvent::from(KeyCode::Char('+'))));
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
}
