//! Boxes over the panels: help, the stop question, the final summary, the warnings.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::format::{duration, percent};
use super::{centered, dim, title_style};
use crate::train::event::Summary;
use crate::train::metrics::EvalMetrics;
use crate::tui::app::{App, Dialog};
use crate::tui::keys::LR_FACTOR;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let (title, lines, width) = match &app.dialog {
        Some(Dialog::Help) => (" keys ", help(), 64),
        Some(Dialog::Quit) => (" stop the run? ", quit(), 62),
        Some(Dialog::Summary) => match &app.summary {
            Some(s) => {
                let lines = summary(app, s);
                // Wide enough for the run directory's path where the terminal allows.
                let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 3;
                (" run finished ", lines, widest.max(60))
            }
            None => return,
        },
        Some(Dialog::Warnings(first)) => return super::warnings::draw(app, frame, area, *first),
        Some(Dialog::CommandLine(_)) | None => return,
    };
    let height = lines.len() as u16 + 2;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(title, title_style()))
        .border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn key_line(key: &str, what: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            format!(" {key:<12}"),
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw(what.to_string()),
    ])
}

fn help() -> Vec<Line<'static>> {
    let factor = format!("{LR_FACTOR}");
    vec![
        key_line("+ / -", &format!("every learning rate × {factor} / ÷ {factor}")),
        key_line(":", "command line: lr 3e-4, lr head 1e-3, freeze layer4.2…"),
        key_line("↑ ↓", "select a group in the freeze map"),
        key_line("→ ← enter", "open / close a stage to its blocks"),
        key_line("space, f", "freeze or unfreeze the selected group"),
        key_line("u", "unfreeze the next frozen stage"),
        key_line("p", "pause / resume"),
        key_line("s", "save a checkpoint now"),
        key_line("w", "charts: whole run / recent steps"),
        key_line("tab", "metrics: overview / confusion / per-class"),
        key_line("!", "every warning of the run, oldest first"),
        key_line("q", "stop gracefully, abort, or cancel"),
        key_line("ctrl-c", "stop gracefully (again: abort)"),
        Line::styled(" Commands apply between steps; the log says when.", dim()),
        Line::styled(" any key closes this", dim()),
    ]
}

fn quit() -> Vec<Line<'static>> {
    vec![
        key_line("g", "graceful stop: checkpoint, best weights, test"),
        key_line("a", "abort now, without evaluation"),
        key_line("c / esc", "cancel: keep training"),
    ]
}

fn summary(app: &App, s: &Summary) -> Vec<Line<'static>> {
    let row = |k: &str, v: String| Line::from(vec![Span::styled(format!(" {k:<14}"), dim()), Span::raw(v)]);
    let metrics = |m: &Option<EvalMetrics>| {
        m.as_ref().map_or("-".into(), |m| {
            let second = m
                .second_figure()
                .map(|(name, value)| format!("{name} {}, ", percent(value)))
                .unwrap_or_default();
            let auc = m.auc.map(|a| format!(", AUC {a:.3}")).unwrap_or_default();
            format!("{} ({second}F1 {:.3}{auc})", percent(m.accuracy), m.f1_macro)
        })
    };
    let mut lines = vec![
        row("status", s.status.as_str().into()),
        row("epochs", format!("{} ({} steps)", s.epochs_run, s.steps)),
        row("best epoch", s.best_epoch.map_or("-".into(), |e| e.to_string())),
        row("validation", metrics(&s.val)),
        row("test", metrics(&s.test)),
        row(
            "speed",
            format!("{:.1} img/s, {}", s.images_per_second, duration(s.wall_seconds)),
        ),
    ];
    if app.warnings.count() > 0 {
        lines.push(row("warnings", format!("{} (! lists them)", app.warnings.count())));
    }
    if let Some(e) = &s.error {
        lines.push(Line::styled(format!(" {e}"), Style::new().fg(Color::Red)));
    }
    if let Some(run) = &app.run {
        lines.push(row("run directory", run.run_dir.clone()));
        for (i, command) in crate::commands::next_commands(s, &run.run_dir).into_iter().enumerate() {
            lines.push(row(if i == 0 { "next" } else { "" }, command));
        }
    }
    lines.push(Line::styled(" q leaves · esc looks around first", dim()));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::event::{Event, Status};
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, press, record, render, summary as finished};
    use crate::tui::update::{Msg, update};
    use crate::tui::view::view;
    use crossterm::event::KeyCode;

    #[test]
    fn help_lists_the_keys_and_any_key_closes_it() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        press(&mut app, KeyCode::Char('?'));
        let text = render(100, 30, |f| view(&app, f));
        assert!(text.contains(" keys "), "{text}");
        assert!(text.contains("+ / -       every learning rate × 2 / ÷ 2"), "{text}");
        assert!(text.contains("ctrl-c      stop gracefully (again: abort)"), "{text}");
        press(&mut app, KeyCode::Char('x'));
        assert!(!render(100, 30, |f| view(&app, f)).contains(" keys "));
    }

    #[test]
    fn stop_dialog_offers_graceful_abort_and_cancel() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        press(&mut app, KeyCode::Char('q'));
        let text = render(100, 30, |f| view(&app, f));
        assert!(text.contains(" stop the run? "), "{text}");
        assert!(
            text.contains("g           graceful stop: checkpoint, best weights, test"),
            "{text}"
        );
        assert!(text.contains("a           abort now, without evaluation"), "{text}");
        assert!(text.contains("c / esc     cancel: keep training"), "{text}");
    }

    #[test]
    fn the_summary_stays_up_after_the_run() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let done = Event::Finished(Box::new(finished(Status::Stopped)));
        update(&mut app, Msg::Record(Box::new(record(1061.0, 22, 2, done))));
        let text = render(100, 30, |f| view(&app, f));
        assert!(text.contains(" run finished "), "{text}");
        assert!(text.contains("status        stopped"), "{text}");
        assert!(
            text.contains("test          90.0% (top-5 99.0%, F1 0.900, AUC 0.950)"),
            "{text}"
        );
        assert!(text.contains("speed         41.5 img/s, 01:01"), "{text}");
        let dir = &app.run.as_ref().unwrap().run_dir;
        assert!(
            text.contains(&format!("next          kiln evaluate --run {dir}")),
            "{text}"
        );
        assert!(text.contains("● finished: stopped"), "{text}");
        assert!(!app.quit);
    }
}
