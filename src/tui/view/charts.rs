//! Loss (raw, smoothed, validation), accuracy (train, validation) and learning rate per group,
//! over the whole run or the recent window, with a tick on the x axis where a command applied.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use super::format::axis;
use super::{dim, group_color, title_style};
use crate::tui::app::{App, RECENT_STEPS, Window};
use crate::tui::history::{window, y_bounds};

type Point = (f64, f64);

/// One line on a chart; `dots` marks each point too (epoch-wise series have few points).
pub struct Series {
    pub name: String,
    pub color: Color,
    pub points: Vec<(f64, f64)>,
    pub dots: bool,
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let [loss, acc, lr] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(area);
    let h = &app.history;
    let last = app.step.max(1) as f64;
    let (from, to) = match app.window {
        Window::Full => {
            let first = h.train_loss.first().map_or(0.0, |p| p.0 - 1.0);
            (first.max(0.0), last)
        }
        Window::Recent => ((last - RECENT_STEPS as f64).max(0.0), last),
    };
    // Two braille dots per cell: more points than that cannot be told apart.
    let max = area.width as usize * 2 / 3;
    let cut = |s: &[(f64, f64)]| window(s, from, to, max);
    let marks: Vec<f64> = h
        .marks
        .iter()
        .map(|(s, _)| *s as f64)
        .filter(|s| (from..=to).contains(s))
        .collect();
    let span = match app.window {
        Window::Full => "",
        Window::Recent => " (recent)",
    };

    let mut loss_series = vec![
        series("train", Color::DarkGray, cut(&h.train_loss), false),
        series("smoothed", Color::Cyan, cut(&h.smoothed_loss), false),
        series("val", Color::Yellow, cut(&h.val_loss), true),
    ];
    // One wild epoch (a validation loss of thousands after a too-high lr) would flatten every
    // other point onto the axis: past two decades the loss is plotted as log10.
    let log = spans_decades(&loss_series, 2.0);
    if log {
        for s in &mut loss_series {
            s.points = log10(std::mem::take(&mut s.points));
        }
    }
    let y = y_bounds(loss_series.iter().map(|s| s.points.as_slice()));
    let scale = if log { " (log)" } else { "" };
    draw_chart(
        frame,
        loss,
        &format!("loss{span}{scale}"),
        &loss_series,
        [from, to],
        y,
        &marks,
        |v| if log { axis(10f64.powf(v)) } else { axis(v) },
    );

    let acc_series = vec![
        series("train", Color::Green, cut(&h.train_acc), true),
        series("val", Color::Yellow, cut(&h.val_acc), true),
    ];
    let title = format!("accuracy %{span}");
    // Accuracy keeps its whole scale, so epochs compare at a glance.
    let y = y_bounds(acc_series.iter().map(|s| s.points.as_slice())).map(|_| [0.0, 100.0]);
    draw_chart(frame, acc, &title, &acc_series, [from, to], y, &marks, |v| {
        format!("{v:.0}")
    });

    // Learning rates span decades: plotted as log10, labelled as rates.
    let lr_series: Vec<Series> = merge_equal(&h.lr)
        .into_iter()
        .map(|(name, color, s)| series(&name, color, log10(cut(s)), false))
        .collect();
    let y = y_bounds(lr_series.iter().map(|s| s.points.as_slice()));
    let label = |v: f64| format!("{:.1e}", 10f64.powf(v));
    draw_chart(
        frame,
        lr,
        &format!("lr{span}"),
        &lr_series,
        [from, to],
        y,
        &marks,
        label,
    );
}

/// The points with a positive y, that y as log10 (for a chart labelled as 10^y).
fn log10(points: Vec<Point>) -> Vec<Point> {
    points
        .into_iter()
        .filter(|p| p.1 > 0.0)
        .map(|(x, y)| (x, y.log10()))
        .collect()
}

/// Whether the series' positive values span more than `decades` powers of ten.
fn spans_decades(series: &[Series], decades: f64) -> bool {
    let values = series
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.1)
        .filter(|y| *y > 0.0 && y.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    hi > 0.0 && (hi / lo).log10() > decades
}

/// Groups whose rates moved together are one line ("backbone" when that is all but the head),
/// so the legend stays short and no line hides another.
fn merge_equal(lr: &BTreeMap<String, Vec<Point>>) -> Vec<(String, Color, &[Point])> {
    let mut merged: Vec<(Vec<&str>, &[Point])> = Vec::new();
    for (group, s) in lr {
        match merged.iter_mut().find(|(_, other)| *other == s.as_slice()) {
            Some((names, _)) => names.push(group),
            None => merged.push((vec![group], s)),
        }
    }
    let backbone = |names: &[&str]| lr.len() > 2 && names.len() == lr.len() - 1 && !names.contains(&"head");
    merged
        .into_iter()
        .map(|(names, s)| {
            if backbone(&names) {
                ("backbone".to_string(), Color::Cyan, s)
            } else {
                (names.join(","), group_color(names[0]), s)
            }
        })
        .collect()
}

fn series(name: &str, color: Color, points: Vec<(f64, f64)>, dots: bool) -> Series {
    Series {
        name: name.into(),
        color,
        points,
        dots,
    }
}

/// A chart titled with its series' names in their colours (a legend that never hides a line).
#[allow(clippy::too_many_arguments)]
pub fn draw_chart(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    series: &[Series],
    x: [f64; 2],
    y: Option<[f64; 2]>,
    marks: &[f64],
    y_label: impl Fn(f64) -> String,
) {
    let mut spans = vec![Span::styled(format!(" {title} "), title_style())];
    for s in series {
        spans.push(Span::styled(format!("━{} ", s.name), Style::new().fg(s.color)));
    }
    let block = Block::bordered().title(Line::from(spans));
    let Some([lo, hi]) = y else {
        frame.render_widget(
            ratatui::widgets::Paragraph::new(Line::styled("no data yet", dim())).block(block),
            area,
        );
        return;
    };
    // Short enough to stay off the curves, tall enough to see: a tenth of the height.
    let tick = (hi - lo) / 10.0;
    let mark_lines: Vec<[(f64, f64); 2]> = marks.iter().map(|m| [(*m, lo), (*m, lo + tick)]).collect();
    let mut datasets: Vec<Dataset> = mark_lines
        .iter()
        .map(|m| {
            Dataset::default()
                .graph_type(GraphType::Line)
                .marker(Marker::Braille)
                .style(Style::new().fg(Color::Gray))
                .data(m)
        })
        .collect();
    for s in series {
        let style = Style::new().fg(s.color);
        let line = Dataset::default()
            .graph_type(GraphType::Line)
            .marker(Marker::Braille)
            .style(style)
            .data(&s.points);
        datasets.push(line);
        if s.dots {
            datasets.push(Dataset::default().marker(Marker::Dot).style(style).data(&s.points));
        }
    }
    // A middle label only where it lands on a whole number worth showing.
    let x_labels: Vec<String> = if x[1] - x[0] >= 4.0 {
        vec![x[0], (x[0] + x[1]) / 2.0, x[1]]
    } else {
        vec![x[0], x[1]]
    }
    .into_iter()
    .map(|v| format!("{v:.0}"))
    .collect();
    let y_labels = [lo, (lo + hi) / 2.0, hi].map(&y_label);
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(Axis::default().bounds(x).labels(x_labels).style(dim()))
        .y_axis(Axis::default().bounds([lo, hi]).labels(y_labels).style(dim()));
    frame.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::command::Source;
    use crate::train::event::Event;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, record, render};
    use crate::tui::update::{Msg, update};

    #[test]
    fn charts_show_their_series_axes_and_command_marks() {
        let mut app = App::new(Mode::Live);
        let empty = render(120, 14, |f| draw(&app, f, f.area()));
        assert_eq!(empty.matches("no data yet").count(), 3, "{empty}");
        mid_run(&mut app);
        let before = render(120, 14, |f| draw(&app, f, f.area()));
        assert!(before.contains(" loss ━train ━smoothed ━val"), "{before}");
        assert!(before.contains(" accuracy % ━train ━val"), "{before}");
        assert!(before.contains(" lr ━head ━backbone "), "{before}");
        // The learning rates (1e-3 backbone, 3e-3 head) sit inside the y range, log-scaled.
        assert!(
            before.contains("│100") && before.contains("│3.2e-3") && before.contains("│9.5e-4"),
            "{before}"
        );
        assert!(
            before.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "lines are drawn"
        );
        let command = Event::Command {
            command: crate::train::command::Command::ScaleLr(0.5),
            source: Source::Key,
            detail: String::new(),
        };
        update(&mut app, Msg::Record(Box::new(record(1046.0, 11, 2, command))));
        let after = render(120, 14, |f| draw(&app, f, f.area()));
        assert_ne!(before, after, "the mark at step 11 is drawn");
        app.window = Window::Recent;
        let recent = render(120, 14, |f| draw(&app, f, f.area()));
        assert!(recent.contains("loss (recent)"), "{recent}");
    }

    #[test]
    fn a_loss_spanning_decades_is_drawn_on_a_log_axis() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        assert!(!render(120, 14, |f| draw(&app, f, f.area())).contains("(log)"));
        // A validation loss of 5000 after an lr blow-up, beside training losses near 0.3.
        let mut wild = crate::tui::fixtures::epoch_info(5000.0, false);
        wild.val.loss = 5000.0;
        update(
            &mut app,
            Msg::Record(Box::new(record(1050.0, 22, 2, Event::Epoch(Box::new(wild))))),
        );
        let text = render(120, 14, |f| draw(&app, f, f.area()));
        assert!(text.contains(" loss (log) ━train"), "{text}");
        // Labels as losses, spaced in log: the middle one is the ends' geometric mean
        // (sqrt(7988 x 0.27) = 46.4), not their mean.
        for label in ["│7988 ", "│46.15", "│0.27 "] {
            assert!(text.contains(label), "{label}: {text}");
        }
    }

    #[test]
    fn groups_with_the_same_rates_share_a_line() {
        let s = |v: f64| vec![(1.0, v), (2.0, v / 2.0)];
        let mut lr: BTreeMap<String, Vec<(f64, f64)>> = ["stem", "layer1", "layer2", "layer3", "layer4"]
            .iter()
            .map(|g| (g.to_string(), s(1e-3)))
            .collect();
        lr.insert("head".into(), s(3e-3));
        let names =
            |lr: &BTreeMap<String, Vec<(f64, f64)>>| merge_equal(lr).into_iter().map(|m| m.0).collect::<Vec<_>>();
        assert_eq!(names(&lr), ["head", "backbone"]);
        lr.insert("layer4".into(), s(3e-4));
        assert_eq!(names(&lr), ["head", "layer1,layer2,layer3,stem", "layer4"]);
    }
}
