//! The last validation: headline figures, the confusion matrix, or per-class precision and
//! recall (tab switches).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::format::{fit, percent};
use super::{dim, title_style};
use crate::train::metrics::EvalMetrics;
use crate::tui::app::{App, MetricsView};

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let tab = |name: &'static str, view: MetricsView| {
        if app.metrics_view == view {
            Span::styled(format!("[{name}]"), title_style().fg(Color::Cyan))
        } else {
            Span::styled(format!(" {name} "), dim())
        }
    };
    let block = Block::bordered().title(vec![
        Span::raw(" "),
        tab("overview", MetricsView::Overview),
        tab("confusion", MetricsView::Confusion),
        tab("per-class", MetricsView::PerClass),
        Span::raw(" "),
    ]);
    // The last epoch's validation; a run stopped before its first epoch has only the summary's.
    let val = app
        .last_epoch
        .as_ref()
        .map(|e| &e.val)
        .or_else(|| app.summary.as_ref()?.val.as_ref());
    let Some(val) = val.filter(|v| v.samples > 0) else {
        let why = match val {
            None => "no validation yet (at the end of each epoch)",
            Some(_) => "no validation images: the split left none (data.split)",
        };
        let line = Line::styled(why, dim());
        frame.render_widget(Paragraph::new(line).block(block), area);
        return;
    };
    let classes: Vec<String> = app
        .run
        .as_ref()
        .map(|r| r.classes.clone())
        .unwrap_or_else(|| (0..val.confusion.len()).map(|c| c.to_string()).collect());
    match app.metrics_view {
        MetricsView::Overview => frame.render_widget(Paragraph::new(overview(app, val)).block(block), area),
        MetricsView::Confusion => {
            let inner = block.inner(area);
            frame.render_widget(block, area);
            frame.render_widget(Paragraph::new(confusion(val, &classes, inner.width as usize)), inner);
        }
        MetricsView::PerClass => frame.render_widget(per_class(val, &classes).block(block), area),
    }
}

fn overview<'a>(app: &App, val: &EvalMetrics) -> Vec<Line<'a>> {
    let line = |label: &str, value: String, rest: String| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), dim()),
            Span::styled(value, title_style()),
            Span::raw(rest),
        ])
    };
    let mut lines = vec![
        line(
            "val accuracy",
            percent(val.accuracy),
            val.second_figure()
                .map(|(name, value)| format!("  {name} {}", percent(value)))
                .unwrap_or_default(),
        ),
        line(
            "macro F1",
            format!("{:.3}", val.f1_macro),
            format!("  loss {:.4}", val.loss),
        ),
    ];
    if let Some(auc) = val.auc {
        lines.push(line("ROC AUC", format!("{auc:.3}"), "  macro, one-vs-rest".into()));
    }
    if let Some(e) = &app.last_epoch {
        let patience = e
            .patience_left
            .map_or("early stop off".into(), |p| format!("patience {p} left"));
        let best = app.best_epoch.map_or("-".into(), |b| b.to_string());
        lines.push(line("best epoch", best, format!("  {patience}")));
        lines.push(line(
            "train",
            format!("loss {:.4}", e.train_loss),
            format!("  acc {}", percent(e.train_accuracy)),
        ));
    }
    if let Some(test) = app.summary.as_ref().and_then(|s| s.test.as_ref()) {
        lines.push(line(
            "test accuracy",
            percent(test.accuracy),
            format!("  F1 {:.3}", test.f1_macro),
        ));
    }
    lines
}

/// Rows are true classes (t), columns predictions (p); the diagonal is what was right.
fn confusion<'a>(val: &EvalMetrics, classes: &[String], width: usize) -> Vec<Line<'a>> {
    let n = val.confusion.len();
    if n == 0 {
        return vec![Line::styled(
            "multi-label run: no confusion matrix; per-class has each label's precision and recall",
            dim(),
        )];
    }
    let biggest = val.confusion.iter().flatten().max().copied().unwrap_or(0);
    let cell = biggest.to_string().len().max(3) + 1;
    let label = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1).clamp(5, 8) + 1;
    // Columns that fit; the rest are cut with an ellipsis.
    let shown = (width.saturating_sub(label) / cell).min(n);
    let cut = if shown < n { "…" } else { "" };
    let mut header = vec![Span::styled(format!("{:<label$}", "t\\p"), dim())];
    for c in classes.iter().take(shown) {
        header.push(Span::styled(format!("{:>cell$}", fit(c, cell - 1)), dim()));
    }
    header.push(Span::styled(cut, dim()));
    let mut lines = vec![Line::from(header)];
    for (t, row) in val.confusion.iter().enumerate() {
        let name = classes.get(t).map_or(t.to_string(), |c| fit(c, label - 1));
        let mut spans = vec![Span::styled(format!("{name:<label$}"), dim())];
        for (p, count) in row.iter().enumerate().take(shown) {
            let style = match (p == t, *count) {
                (true, _) => Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
                (false, 0) => dim(),
                (false, _) => Style::new().fg(Color::Red),
            };
            spans.push(Span::styled(format!("{count:>cell$}"), style));
        }
        spans.push(Span::styled(cut, dim()));
        lines.push(Line::from(spans));
    }
    lines
}

fn per_class<'a>(val: &EvalMetrics, classes: &[String]) -> Table<'a> {
    let rows = (0..val.f1.len()).map(|c| {
        // Runs logged before `support` existed have only the confusion matrix's row sums.
        let support: u64 = match val.support.get(c) {
            Some(&s) => s,
            None => val.confusion.get(c).map_or(0, |row| row.iter().sum()),
        };
        let get = |v: &[f64]| v.get(c).map_or("-".into(), |x| format!("{x:.3}"));
        let name = classes.get(c).cloned().unwrap_or_else(|| c.to_string());
        let recall = val.recall.get(c).copied().unwrap_or(0.0);
        let color = if recall < 0.5 { Color::Red } else { Color::Reset };
        Row::new([
            name,
            get(&val.precision),
            get(&val.recall),
            get(&val.f1),
            support.to_string(),
        ])
        .style(Style::new().fg(color))
    });
    let widths = [
        Constraint::Min(8),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    Table::new(rows, widths).header(Row::new(["class", "precision", "recall", "f1", "n"]).style(dim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, render};

    #[test]
    fn overview_has_the_headline_figures() {
        let mut app = App::new(Mode::Live);
        let text = render(60, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("no validation yet"), "{text}");
        mid_run(&mut app);
        let text = render(60, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("[overview]"), "{text}");
        assert!(text.contains("val accuracy  90.0%  top-5 99.0%"), "{text}");
        assert!(text.contains("macro F1      0.900  loss 0.5000"), "{text}");
        assert!(text.contains("ROC AUC       0.950  macro, one-vs-rest"), "{text}");
        assert!(text.contains("best epoch    2  patience 3 left"), "{text}");
        assert!(text.contains("train         loss 0.5000  acc 85.0%"), "{text}");
    }

    #[test]
    fn a_run_without_validation_images_says_so_instead_of_zeros() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let epoch = app.last_epoch.as_mut().unwrap();
        epoch.val = crate::train::metrics::EvalAccumulator::new(10).finish();
        let text = render(70, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("no validation images: the split left none"), "{text}");
        assert!(!text.contains("val accuracy"), "{text}");
    }

    #[test]
    fn confusion_view_puts_counts_under_predicted_classes() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        app.metrics_view = MetricsView::Confusion;
        let text = render(60, 14, |f| draw(&app, f, f.area()));
        assert!(text.contains("[confusion]"), "{text}");
        assert!(
            text.contains("│t\\p      0   1   2   3   4   5   6   7   8   9"),
            "{text}"
        );
        assert!(text.contains("│0        9   1   0   0"), "{text}");
        assert!(
            text.contains("│9        1   0   0   0   0   0   0   0   0   9"),
            "{text}"
        );
        // Too narrow for every column: cut, and said so.
        let narrow = render(30, 14, |f| draw(&app, f, f.area()));
        assert!(narrow.contains('…'), "{narrow}");
    }

    #[test]
    fn per_class_view_lists_precision_recall_f1_and_support() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        app.metrics_view = MetricsView::PerClass;
        let text = render(60, 14, |f| draw(&app, f, f.area()));
        assert!(text.contains("[per-class]"), "{text}");
        let row = |first: &str| {
            text.lines()
                .map(|l| l.trim_matches('│').split_whitespace().collect::<Vec<_>>())
                .find(|w| w.first() == Some(&first))
                .unwrap()
        };
        assert_eq!(row("class"), ["class", "precision", "recall", "f1", "n"], "{text}");
        assert_eq!(row("7"), ["7", "0.900", "0.900", "0.900", "10"], "{text}");
    }

    #[test]
    fn a_multi_label_run_shows_label_accuracy_and_per_label_support() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let epoch = app.last_epoch.as_mut().unwrap();
        epoch.val.top5 = None;
        epoch.val.label_accuracy = Some(0.97);
        epoch.val.confusion.clear();
        epoch.val.support = vec![4; 10];
        let text = render(60, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("val accuracy  90.0%  label acc 97.0%"), "{text}");
        app.metrics_view = MetricsView::Confusion;
        let text = render(100, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("multi-label run: no confusion matrix"), "{text}");
        app.metrics_view = MetricsView::PerClass;
        let text = render(60, 14, |f| draw(&app, f, f.area()));
        assert!(text.contains("0.900  4 "), "{text}");
    }
}
