//! Draws the state, and nothing else: `view(&App, &mut Frame)` reads and never changes it.

mod charts;
mod footer;
pub mod format;
mod freeze;
mod hardware;
mod header;
mod log;
mod metrics;
mod popups;
mod warnings;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};

use super::app::App;

pub use charts::{Series, draw_chart};

/// The dashboard: header, charts, freeze map | hardware | metrics, event log, keys.
pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [header, charts, middle, log, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Percentage(36),
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(1),
    ])
    .areas(area);
    // The freeze map needs about 42 columns for its five; the rest share what is left.
    let freeze_width = (middle.width * 36 / 100).max(42).min(middle.width / 2);
    let [freeze, hardware, metrics] = Layout::horizontal([
        Constraint::Length(freeze_width),
        Constraint::Ratio(9, 20),
        Constraint::Ratio(11, 20),
    ])
    .areas(middle);
    header::draw(app, frame, header);
    charts::draw(app, frame, charts);
    freeze::draw(app, frame, freeze);
    hardware::draw(app, frame, hardware);
    metrics::draw(app, frame, metrics);
    log::draw(app, frame, log);
    footer::draw(app, frame, footer);
    popups::draw(app, frame, area);
}

/// A `width` × `height` box in the middle of `area`, shrunk to fit.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

fn title_style() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Each learning-rate group's colour, the same in the chart and its legend.
fn group_color(group: &str) -> Color {
    match group {
        "stem" => Color::Blue,
        "layer1" => Color::Cyan,
        "layer2" => Color::Green,
        "layer3" => Color::Yellow,
        "layer4" => Color::Magenta,
        "head" => Color::Red,
        _ => Color::White,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, render};

    #[test]
    fn the_whole_dashboard_fits_a_small_terminal_and_a_large_one() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        for (w, h) in [(80, 24), (160, 50), (40, 10)] {
            let text = render(w, h, |f| view(&app, f));
            assert_eq!(text.lines().count(), h as usize);
        }
        let text = render(160, 50, |f| view(&app, f));
        for panel in ["freeze map", "hardware", "overview", "events", "loss", "accuracy", "lr"] {
            assert!(text.contains(panel), "{panel} missing:\n{text}");
        }
    }
}
