//! `kiln compare`: several runs' curves by epoch on the same axes, one colour per run.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Row, Table};

use super::history::y_bounds;
use super::view::format::{axis, percent};
use super::view::{Series, draw_chart};
use crate::runlog::read_events;
use crate::train::event::Event;

const COLORS: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Red,
    Color::Blue,
    Color::LightGreen,
    Color::LightMagenta,
];

/// One run's per-epoch figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Curves {
    pub name: String,
    pub model: String,
    pub status: String,
    /// epoch → (train loss, val loss, val accuracy in %).
    pub epochs: BTreeMap<usize, (f64, f64, f64)>,
}

impl Curves {
    /// Reads a run directory's `events.jsonl`. A resumed run that repeated an epoch keeps
    /// the later figures.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let events = read_events(&dir.join("events.jsonl"))?;
        let mut c = Curves {
            name: dir
                .file_name()
                .map_or("run".into(), |n| n.to_string_lossy().into_owned()),
            model: "-".into(),
            status: "unfinished".into(),
            epochs: BTreeMap::new(),
        };
        for r in events {
            match r.event {
                Event::Started(s) => c.model = s.model,
                Event::Epoch(e) => {
                    c.epochs
                        .insert(r.epoch, (e.train_loss, e.val.loss, e.val.accuracy * 100.0));
                }
                Event::Finished(s) => c.status = s.status.as_str().into(),
                _ => {}
            }
        }
        Ok(c)
    }

    pub fn best_accuracy(&self) -> Option<f64> {
        self.epochs.values().map(|v| v.2).reduce(f64::max)
    }
}

pub fn view(runs: &[Curves], frame: &mut Frame) {
    let area = frame.area();
    let legend_height = runs.len() as u16 + 3;
    let [charts, legend, footer] = Layout::vertical([
        Constraint::Min(8),
        Constraint::Length(legend_height),
        Constraint::Length(1),
    ])
    .areas(area);
    let [acc, val, train] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(charts);
    let last = runs
        .iter()
        .filter_map(|r| r.epochs.keys().next_back())
        .max()
        .copied()
        .unwrap_or(1)
        .max(1) as f64;
    let pick = |f: fn(&(f64, f64, f64)) -> f64| -> Vec<Series> {
        runs.iter()
            .enumerate()
            .map(|(i, r)| Series {
                name: format!("{}", i + 1),
                color: COLORS[i % COLORS.len()],
                points: r.epochs.iter().map(|(e, v)| (*e as f64, f(v))).collect(),
                dots: true,
            })
            .collect()
    };
    let x = [1.0, last.max(2.0)];
    let acc_series = pick(|v| v.2);
    let pct = |v: f64| format!("{v:.0}");
    draw_chart(
        frame,
        acc,
        "val accuracy %",
        &acc_series,
        x,
        Some([0.0, 100.0]),
        &[],
        pct,
    );
    for (area, title, series) in [(val, "val loss", pick(|v| v.1)), (train, "train loss", pick(|v| v.0))] {
        let y = y_bounds(series.iter().map(|s| s.points.as_slice()));
        draw_chart(frame, area, title, &series, x, y, &[], axis);
    }
    let rows = runs.iter().enumerate().map(|(i, r)| {
        Row::new([
            format!("━ {}", i + 1),
            r.name.clone(),
            r.model.clone(),
            r.status.clone(),
            r.best_accuracy().map_or("-".into(), |a| percent(a / 100.0)),
            r.epochs.len().to_string(),
        ])
        .style(Style::new().fg(COLORS[i % COLORS.len()]))
    });
    let widths = [
        Constraint::Length(4),
        Constraint::Min(20),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(13),
        Constraint::Length(6),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["", "run", "model", "status", "best val acc", "epochs"]))
        .block(Block::bordered().title(" runs (x axis: epoch) "));
    frame.render_widget(table, legend);
    frame.render_widget(Span::raw("q leaves"), footer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::render;

    fn curves(name: &str, accs: &[f64]) -> Curves {
        Curves {
            name: name.into(),
            model: "resnet18".into(),
            status: "completed".into(),
            epochs: accs
                .iter()
                .enumerate()
                .map(|(i, a)| (i + 1, (1.0 / (i + 1) as f64, 1.2 / (i + 1) as f64, *a)))
                .collect(),
        }
    }

    #[test]
    fn overlays_every_run_and_lists_them() {
        let runs = [
            curves("a-quickstart", &[50.0, 80.0, 90.0]),
            curves("b-frozen", &[40.0, 70.0]),
        ];
        let text = render(120, 24, |f| view(&runs, f));
        assert!(text.contains(" val accuracy % ━1 ━2"), "{text}");
        assert!(
            text.contains(" val loss ━1 ━2") && text.contains(" train loss ━1 ━2"),
            "{text}"
        );
        let row = |name: &str| {
            text.lines()
                .find(|l| l.contains(name))
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            row("a-quickstart"),
            ["│━", "1", "a-quickstart", "resnet18", "completed", "90.0%", "3", "│"]
        );
        assert_eq!(
            row("b-frozen"),
            ["│━", "2", "b-frozen", "resnet18", "completed", "70.0%", "2", "│"]
        );
    }
}
