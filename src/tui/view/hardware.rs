//! Per-GPU utilisation, memory, temperature and power with sparklines; without an NVIDIA GPU,
//! CPU and RAM of the process and the machine. Then images/s and the data-wait share.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::format::{fit, gib, percent};
use super::{dim, title_style};
use crate::tui::app::App;
use crate::tui::hardware::Hardware;

/// One line of the panel: text, or a labelled sparkline.
enum Row<'a> {
    Text(Line<'a>),
    Spark(&'static str, &'a std::collections::VecDeque<u64>, Color),
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(Span::styled(" hardware ", title_style()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let hw = &app.hardware;
    let width = inner.width as usize;
    let mut rows: Vec<Row> = Vec::new();
    match &hw.sample {
        None => rows.push(Row::Text(Line::styled("waiting for the first sample…", dim()))),
        Some(s) if s.gpus.is_empty() => {
            // "no NVIDIA GPU (NVML: ...)": the verdict, then why in small print.
            let why = s.no_gpu.as_deref().unwrap_or("no NVIDIA GPU");
            let (head, rest) = why
                .split_once(" (")
                .map_or((why, ""), |(h, r)| (h, r.trim_end_matches(')')));
            rows.push(Row::Text(Line::styled(
                fit(head, width),
                Style::new().fg(Color::Yellow),
            )));
            if !rest.is_empty() {
                rows.push(Row::Text(Line::styled(fit(rest, width), dim())));
            }
            let h = &s.host;
            rows.push(Row::Text(Line::raw(format!(
                "CPU  {:.0}% · kiln {:.0}% ({} cores)",
                h.cpu_percent, h.process_cpu_percent, h.cores
            ))));
            rows.push(Row::Spark("all ", &hw.cpu, Color::Cyan));
            rows.push(Row::Spark("kiln", &hw.process_cpu, Color::Green));
            rows.push(Row::Text(Line::raw(format!(
                "RAM  {}/{} GiB · kiln {} GiB",
                gib(h.ram_used_bytes),
                gib(h.ram_total_bytes),
                gib(h.process_ram_bytes)
            ))));
        }
        Some(s) => {
            for (i, g) in s.gpus.iter().enumerate() {
                let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                rows.push(Row::Text(Line::styled(
                    fit(&format!("gpu{} {}", g.index, g.name), width),
                    title_style(),
                )));
                let mem = match (g.memory_used_bytes, g.memory_total_bytes) {
                    (Some(u), Some(t)) => format!("{}/{} GiB", gib(u), gib(t)),
                    _ => "-".into(),
                };
                let power = match (g.power_watts, g.power_limit_watts) {
                    (Some(p), Some(l)) => format!("{p:.0}/{l:.0} W"),
                    (Some(p), None) => format!("{p:.0} W"),
                    _ => "-".into(),
                };
                rows.push(Row::Text(Line::raw(format!(
                    "util {} · mem {mem} · {} · {power}",
                    opt(g.utilization_percent.map(|u| format!("{u}%"))),
                    opt(g.temperature_c.map(|t| format!("{t}°C"))),
                ))));
                if let (Some(util), Some(mem)) = (hw.gpu_util.get(i), hw.gpu_mem.get(i)) {
                    rows.push(Row::Spark("util", util, Color::Green));
                    rows.push(Row::Spark("mem ", mem, Color::Magenta));
                }
            }
        }
    }
    rows.push(Row::Text(throughput(hw)));
    let areas = Layout::vertical(rows.iter().map(|_| Constraint::Length(1))).split(inner);
    for (row, area) in rows.into_iter().zip(areas.iter()) {
        match row {
            Row::Text(line) => frame.render_widget(Paragraph::new(line), *area),
            Row::Spark(label, data, color) => {
                let [l, s] = Layout::horizontal([Constraint::Length(5), Constraint::Min(1)]).areas(*area);
                frame.render_widget(Paragraph::new(Span::styled(label, dim())), l);
                // The newest samples at the right edge.
                let skip = data.len().saturating_sub(s.width as usize);
                let spark = Sparkline::default()
                    .data(data.iter().skip(skip))
                    .max(100)
                    .style(Style::new().fg(color));
                frame.render_widget(spark, s);
            }
        }
    }
}

fn throughput(hw: &Hardware) -> Line<'static> {
    match (hw.images_per_second(), hw.data_wait()) {
        (Some(ips), Some(wait)) => {
            let color = if wait > 0.2 { Color::Yellow } else { Color::Reset };
            Line::from(vec![
                Span::raw(format!("{ips:.1} img/s · ")),
                Span::styled(format!("data wait {}", percent(wait)), Style::new().fg(color)),
            ])
        }
        _ => Line::styled("no steps yet", dim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::event::Event;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{gpu_sample, mid_run, record, render};
    use crate::tui::update::{Msg, update};

    #[test]
    fn without_a_gpu_it_says_so_and_shows_cpu_and_ram_of_process_and_machine() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let text = render(56, 10, |f| draw(&app, f, f.area()));
        assert!(text.lines().nth(1).unwrap().starts_with("│no NVIDIA GPU  "), "{text}");
        assert!(text.contains("NVML: a libloading error occurred"), "{text}");
        assert!(text.contains("CPU  97% · kiln 93% (2 cores)"), "{text}");
        assert!(text.contains("RAM  3.0/8.0 GiB · kiln 1.0 GiB"), "{text}");
        assert!(text.contains("40.0 img/s · data wait 5.0%"), "{text}");
        assert!(!text.contains("gpu0"), "{text}");
    }

    #[test]
    fn each_gpu_gets_figures_and_sparklines() {
        let mut app = App::new(Mode::Live);
        for (i, util) in [10, 50, 90].into_iter().enumerate() {
            let r = record(i as f64, 0, 0, Event::Telemetry(Box::new(gpu_sample(util))));
            update(&mut app, Msg::Record(Box::new(r)));
        }
        let text = render(56, 8, |f| draw(&app, f, f.area()));
        assert!(text.contains("gpu0 NVIDIA H100 80GB HBM3"), "{text}");
        assert!(
            text.contains("util 90% · mem 20.0/80.0 GiB · 61°C · 312/700 W"),
            "{text}"
        );
        let util = text.lines().find(|l| l.contains("util") && !l.contains('%')).unwrap();
        assert!(
            util.contains('█') || util.contains('▇'),
            "the last sample is high: {util}"
        );
        assert!(text.contains("no steps yet"), "{text}");
    }
}
