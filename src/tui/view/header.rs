//! Run name, model, device, data; epoch and step; elapsed and ETA; run state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::format::{duration, fit};
use super::{dim, title_style};
use crate::tui::app::{App, Mode, RunState};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let name = app.run.as_ref().map_or("waiting for the trainer", |r| r.name.as_str());
    let title = match app.mode {
        Mode::Live => format!(" kiln · {name} "),
        Mode::ReadOnly => format!(" kiln show · {name} "),
    };
    let mut block = Block::bordered().title(Span::styled(title, title_style()));
    if app.warnings.count() > 0 {
        let s = if app.warnings.count() == 1 { "" } else { "s" };
        let count = format!(" {} warning{s} (! lists them) ", app.warnings.count());
        let count = Line::styled(count, Style::new().fg(Color::Yellow)).right_aligned();
        block = block.title_top(count);
    }
    let width = area.width.saturating_sub(2) as usize;
    let first = match &app.run {
        Some(r) => Line::from(vec![
            Span::raw(format!("{} on {}", r.model, r.device)),
            Span::styled(" · ", dim()),
            Span::raw(fit(&r.data_root, width / 3)),
            Span::raw(format!(
                " ({} classes, {} train / {} val / {} test)",
                r.classes.len(),
                r.train_images,
                r.val_images,
                r.test_images
            )),
        ]),
        None => Line::styled("scanning data and loading the model…", dim()),
    };
    let (epochs, total_steps) = app
        .run
        .as_ref()
        .map_or((0, 0), |r| (r.epochs, r.epochs * r.steps_per_epoch));
    let (word, color) = state(app.state);
    let mut second = vec![
        Span::raw(format!("epoch {}/{epochs}", app.epoch)),
        Span::styled(" · ", dim()),
        Span::raw(format!("step {}/{total_steps}", app.step)),
        Span::styled(" · ", dim()),
    ];
    if let Some(scale) = app.loss_scale {
        second.push(Span::raw(format!("f16 loss scale {scale}")));
        second.push(Span::styled(" · ", dim()));
    }
    second.push(Span::raw(format!(
        "elapsed {}",
        app.elapsed().map_or("-".into(), duration)
    )));
    if let Some(eta) = app.eta() {
        second.push(Span::styled(" · ", dim()));
        second.push(Span::raw(format!("ETA {}", duration(eta))));
    }
    second.push(Span::styled(" · ", dim()));
    second.push(Span::styled(format!("● {word}"), Style::new().fg(color)));
    frame.render_widget(Paragraph::new(vec![first, Line::from(second)]).block(block), area);
}

fn state(s: RunState) -> (String, Color) {
    match s {
        RunState::Starting => ("starting".into(), Color::Yellow),
        RunState::Running => ("running".into(), Color::Green),
        RunState::Paused => ("paused".into(), Color::Yellow),
        RunState::Stopping => ("stopping".into(), Color::Magenta),
        RunState::Finished(status) => (format!("finished: {}", status.as_str()), Color::Cyan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{mid_run, render};

    #[test]
    fn header_says_what_where_how_far_and_how_long() {
        let mut app = App::new(Mode::Live);
        let text = render(100, 4, |f| draw(&app, f, f.area()));
        assert!(
            text.contains("waiting for the trainer") && text.contains("● starting"),
            "{text}"
        );
        mid_run(&mut app);
        let text = render(120, 4, |f| draw(&app, f, f.area()));
        assert!(text.contains("kiln · 20261128-031500-quickstart"), "{text}");
        assert!(
            text.contains("resnet18 on cpu (flex) · assets/digits (10 classes, 700 train"),
            "{text}"
        );
        // 21 steps in the 44 s since the first one ended: 88 more at 2.1 s take 3:04.
        assert!(
            text.contains("epoch 3/10 · step 22/110 · elapsed 00:46 · ETA 03:04 · ● running"),
            "{text}"
        );
    }

    #[test]
    fn an_f16_run_shows_its_loss_scale_after_the_step() {
        use crate::train::event::{Event, StepInfo};
        use crate::tui::fixtures::{record, step_info};
        use crate::tui::update::{Msg, update};
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        assert!(!render(140, 4, |f| draw(&app, f, f.area())).contains("loss scale"));
        let step = StepInfo {
            loss_scale: Some(32768.0),
            ..step_info(0.4)
        };
        update(
            &mut app,
            Msg::Record(Box::new(record(1050.0, 23, 3, Event::Step(step)))),
        );
        let text = render(140, 4, |f| draw(&app, f, f.area()));
        assert!(text.contains("step 23/110 · f16 loss scale 32768 · elapsed"), "{text}");
    }
}
