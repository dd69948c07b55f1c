//! `kiln compare RUN RUN...`: the runs' validation accuracy, validation loss and training loss
//! by epoch on shared axes. Without a terminal, a table of validation accuracy by epoch.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::tui::compare::{Curves, view};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Run directories.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let runs = opts
        .runs
        .iter()
        .map(|dir| Curves::load(dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if std::io::stdout().is_terminal() {
        return crate::tui::runtime::show_static(|f| view(&runs, f));
    }
    Ok(super::print_all(&table(&runs))?)
}

/// `epoch  run 1  run 2 ...` with validation accuracy, runs numbered as listed below it.
pub fn table(runs: &[Curves]) -> String {
    let last = runs
        .iter()
        .filter_map(|r| r.epochs.keys().next_back())
        .max()
        .copied()
        .unwrap_or(0);
    let mut out = String::from("val accuracy by epoch\nepoch");
    for i in 0..runs.len() {
        out.push_str(&format!("  {:>7}", format!("run {}", i + 1)));
    }
    out.push('\n');
    for epoch in 1..=last {
        out.push_str(&format!("{epoch:>5}"));
        for r in runs {
            let cell = r.epochs.get(&epoch).map_or("-".into(), |v| format!("{:.1}%", v.2));
            out.push_str(&format!("  {cell:>7}"));
        }
        out.push('\n');
    }
    for (i, r) in runs.iter().enumerate() {
        out.push_str(&format!("run {}: {} ({}, {})\n", i + 1, r.name, r.model, r.status));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lines_up_epochs_of_runs_of_different_length() {
        let run = |name: &str, accs: &[f64]| Curves {
            name: name.into(),
            model: "resnet18".into(),
            status: "completed".into(),
            epochs: accs.iter().enumerate().map(|(i, a)| (i + 1, (0.5, 0.4, *a))).collect(),
        };
        let text = table(&[run("a", &[50.0, 91.25]), run("b", &[40.0])]);
        assert_eq!(
            text,
            "val accuracy by epoch\nepoch    run 1    run 2\n    1    50.0%    40.0%\n    2    91.2%        -\n\
             run 1: a (resnet18, completed)\nrun 2: b (resnet18, completed)\n"
        );
    }
}
