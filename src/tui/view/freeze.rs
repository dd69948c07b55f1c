//! The freeze map: stem, stages (opened to their blocks on demand) and head, with parameters,
//! frozen or training, BatchNorm mode and learning rate; the selection is where freeze keys act.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Row, Table, TableState};

use super::format::{count, lr};
use super::{dim, title_style};
use crate::tui::app::App;
use crate::tui::freeze_map::Freeze;

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let map = &app.freeze;
    let trainable = map
        .trainable_params
        .map(|n| format!("· {} trainable ", count(n)))
        .unwrap_or_default();
    let block = Block::bordered().title(vec![
        Span::styled(" freeze map ", title_style()),
        Span::styled(trainable, dim()),
    ]);
    // Effective rates of the last step; before the first step, the starting rates.
    let rates = app
        .history
        .lr
        .iter()
        .filter_map(|(g, s)| Some((g.clone(), s.last()?.1)))
        .collect::<std::collections::BTreeMap<_, _>>();
    let rates = if rates.is_empty() {
        app.run.as_ref().map(|r| r.lr.clone()).unwrap_or_default()
    } else {
        rates
    };
    let rows: Vec<Row> = map
        .visible()
        .into_iter()
        .map(|g| {
            let name = match g.kind.as_str() {
                "stage" if map.expanded.contains(&g.name) => format!("▾ {}", g.name),
                "stage" => format!("▸ {}", g.name),
                "block" => format!("   {}", g.name),
                _ => format!("  {}", g.name),
            };
            let (state, color) = match map.state(&g.name) {
                Freeze::Frozen => ("frozen", Color::Blue),
                Freeze::Training => ("training", Color::Green),
                Freeze::Partly => ("partly", Color::Yellow),
            };
            let rate = map.lr(g, &rates).map_or("-".into(), |v| lr(*v));
            Row::new([name, count(g.params), state.into(), map.bn_mode(&g.name).into(), rate])
                .style(Style::new().fg(color))
        })
        .collect();
    let widths = [
        Constraint::Min(10),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(6),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(["group", "params", "state", "BN", "lr"]).style(dim()))
        .block(block)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected((!map.groups.is_empty()).then_some(map.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::command::{Command, Source};
    use crate::train::event::Event;
    use crate::tui::app::Mode;
    use crate::tui::fixtures::{mid_run, record, render};
    use crate::tui::update::{Msg, update};

    /// The cells after a group's name in its row.
    fn row(text: &str, name: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.trim_matches('│').split_whitespace().collect::<Vec<_>>())
            .find_map(|words| {
                let at = words.iter().position(|w| *w == name)?;
                Some(words[at + 1..].iter().map(|w| w.to_string()).collect())
            })
            .unwrap_or_else(|| panic!("no row {name}:\n{text}"))
    }

    #[test]
    fn freeze_map_shows_each_group_and_follows_an_unfreeze() {
        let mut app = App::new(Mode::Live);
        mid_run(&mut app);
        let text = render(60, 12, |f| draw(&app, f, f.area()));
        assert!(
            text.contains("group") && text.contains("params") && text.contains("BN"),
            "{text}"
        );
        assert_eq!(row(&text, "stem"), ["9536", "frozen", "fixed", "1.0e-3"], "{text}");
        assert_eq!(row(&text, "layer1"), ["148k", "frozen", "fixed", "1.0e-3"], "{text}");
        assert_eq!(row(&text, "layer2"), ["526k", "training", "batch", "1.0e-3"], "{text}");
        assert_eq!(row(&text, "head"), ["5130", "training", "-", "3.0e-3"], "{text}");

        let applied = |command| Event::Command {
            command,
            source: Source::Key,
            detail: String::new(),
        };
        update(
            &mut app,
            Msg::Record(Box::new(record(1047.0, 23, 3, applied(Command::UnfreezeNext)))),
        );
        let freeze = Event::FreezeChanged {
            frozen: vec!["stem".into()],
            trainable_params: 11_171_146,
        };
        update(&mut app, Msg::Record(Box::new(record(1047.0, 23, 3, freeze))));
        // Open layer1 to its blocks.
        app.freeze.selected = 1;
        app.freeze.toggle_expanded(Some(true));
        let text = render(60, 12, |f| draw(&app, f, f.area()));
        assert!(text.contains("11.2M trainable"), "{text}");
        assert_eq!(row(&text, "layer1"), ["148k", "training", "batch", "1.0e-3"], "{text}");
        assert_eq!(row(&text, "layer1.0"), ["74k", "training", "batch", "1.0e-3"], "{text}");
        assert_eq!(row(&text, "stem"), ["9536", "frozen", "fixed", "1.0e-3"], "{text}");
        assert!(text.contains("▾ layer1") && text.contains("▸ layer2"), "{text}");
    }
}
