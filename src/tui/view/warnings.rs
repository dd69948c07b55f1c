//! The warnings list: every warning of the run, oldest first, over the panels. The event
//! log shows only its last few lines, and start-up warnings about the data scroll away.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::log::{PREFIX, entry_lines};
use super::{centered, dim, title_style};
use crate::tui::app::{App, WARNINGS_KEPT};

pub fn draw(app: &App, frame: &mut Frame, area: Rect, first: usize) {
    let width = area.width.saturating_sub(8).min(110);
    // Inside the border; the box is as tall as what it shows, up to the screen less a margin.
    let text_width = (width.saturating_sub(2) as usize).saturating_sub(PREFIX);
    let mut footer = Vec::new();
    if app.warnings.more() > 0 {
        let more = app.warnings.more();
        footer.push(Line::styled(
            format!(" and {more} more after the first {WARNINGS_KEPT}: events.jsonl has them all"),
            dim(),
        ));
    }
    footer.push(Line::styled(" ↑↓ pgup pgdn scroll · any other key closes", dim()));
    let room = (area.height.saturating_sub(6) as usize).saturating_sub(footer.len());
    let mut lines: Vec<Line> = Vec::new();
    let mut shown = first;
    if app.warnings.kept().is_empty() {
        lines.push(Line::raw(" no warnings so far"));
    }
    for w in app.warnings.kept().iter().skip(first) {
        let entry = entry_lines(w, text_width);
        // An entry taller than the whole box is still shown, cut; others wait for a scroll.
        if !lines.is_empty() && lines.len() + entry.len() > room {
            break;
        }
        lines.extend(entry);
        shown += 1;
    }
    lines.truncate(room);
    lines.extend(footer);
    let title = match app.warnings.kept().len() {
        0 => " warnings ".to_string(),
        n => format!(" warnings {}–{shown} of {n} ", first + 1),
    };
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(title, title_style()))
        .border_style(Style::new().fg(Color::Yellow));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use crate::train::event::Event;
    use crate::tui::app::{App, Dialog, Mode, WARNINGS_KEPT};
    use crate::tui::fixtures::{mid_run, press, record, render};
    use crate::tui::update::{Msg, update};
    use crate::tui::view::view;
    use crossterm::event::KeyCode;

    fn warn(app: &mut App, step: u64, message: &str) {
        let event = Event::Warning {
            message: message.into(),
        };
        update(app, Msg::Record(Box::new(record(1050.0, step, 3, event))));
    }

    /// A run whose start-up warning is long gone from the six-line event log.
    fn warned_then_busy() -> App {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        warn(&mut app, 0, "class '7' has 4 training images, 25x fewer than '1' (100)");
        for step in 23..40 {
            warn(
                &mut app,
                step,
                &format!("skipped unreadable train image digits/3/{step}.png"),
            );
        }
        app
    }

    #[test]
    fn warnings_scrolled_out_of_the_log_are_counted_and_listed_oldest_first() {
        let mut app = warned_then_busy();
        let text = render(120, 40, |f| view(&app, f));
        assert!(!text.contains("25x fewer"), "the log has scrolled it away:\n{text}");
        assert!(text.contains("18 warnings (! lists them)"), "{text}");
        press(&mut app, KeyCode::Char('!'));
        assert_eq!(app.dialog, Some(Dialog::Warnings(0)));
        let text = render(120, 40, |f| view(&app, f));
        assert!(text.contains("step      0 ! class '7' has 4 training images"), "{text}");
        assert!(text.contains(" warnings 1–"), "{text}");
        let below = text.split("25x fewer").nth(1).unwrap();
        assert!(below.contains("digits/3/23.png"), "oldest first:\n{text}");
        // Scrolling stops at the last warning, and any other key closes the list.
        for _ in 0..30 {
            press(&mut app, KeyCode::Down);
        }
        assert_eq!(app.dialog, Some(Dialog::Warnings(17)));
        let text = render(120, 40, |f| view(&app, f));
        assert!(text.contains(" warnings 18–18 of 18 "), "{text}");
        assert!(
            text.contains("digits/3/39.png") && !text.contains("25x fewer"),
            "{text}"
        );
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.dialog, Some(Dialog::Warnings(12)));
        press(&mut app, KeyCode::Char('q'));
        assert_eq!(app.dialog, None);
        assert!(!app.quit, "q closes the list, not the dashboard");
    }

    #[test]
    fn the_count_and_the_list_fit_small_terminals() {
        let mut app = warned_then_busy();
        for open in [false, true] {
            if open {
                press(&mut app, KeyCode::Char('!'));
            }
            for (w, h) in [(80, 24), (50, 12), (30, 8), (12, 5)] {
                let text = render(w, h, |f| view(&app, f));
                assert_eq!(text.lines().count(), h as usize);
            }
        }
        let text = render(80, 24, |f| view(&app, f));
        assert!(text.contains("step      0 ! class '7'"), "{text}");
    }

    #[test]
    fn a_run_without_warnings_says_so_and_a_flood_keeps_its_first_ones() {
        let mut app = App::new(Mode::ReadOnly);
        mid_run(&mut app);
        assert!(!render(120, 40, |f| view(&app, f)).contains("warnings"));
        press(&mut app, KeyCode::Char('!'));
        assert!(render(120, 40, |f| view(&app, f)).contains("no warnings so far"));
        press(&mut app, KeyCode::Esc);
        for step in 0..WARNINGS_KEPT as u64 + 30 {
            warn(&mut app, step, &format!("warning number {step}"));
        }
        assert_eq!(app.warnings.count(), WARNINGS_KEPT + 30);
        press(&mut app, KeyCode::Char('!'));
        let text = render(120, 40, |f| view(&app, f));
        assert!(text.contains("step      0 ! warning number 0 "), "{text}");
        assert!(
            text.contains("and 30 more after the first 200: events.jsonl has them all"),
            "{text}"
        );
    }
}
