//! `kiln evaluate`'s printed report: the headline figures, a row per class, the confusion
//! matrix, the pairs most confused and the most confident mistakes.

use std::fmt::Write;

use super::mistakes::{Mistake, Wrong};
use crate::train::metrics::EvalMetrics;
use crate::tui::view::format::fit;

/// A confusion matrix wider than this many classes is left to `--json`.
const MATRIX_CLASSES: usize = 30;
/// Class names are cut to this many characters in tables.
const NAME_WIDTH: usize = 24;
/// Column headers of the matrix are the names when all are this short, else row numbers.
const SHORT_NAME: usize = 5;

/// The classes (multi-label: labels) a report's rows and macro means cover: those with images.
/// A folder of a few of the model's classes would otherwise list every other class at 0 and
/// average it into the macro F1 (sklearn's `f1_score(labels=...)` with the labels present).
pub fn with_images(m: &EvalMetrics) -> Vec<usize> {
    (0..m.support.len()).filter(|&c| m.support[c] > 0).collect()
}

/// The classes with images or predictions: the confusion matrix's rows and columns, so that a
/// prediction of a class without images still shows where it went.
pub fn in_matrix(m: &EvalMetrics) -> Vec<usize> {
    let predicted = |c: usize| m.confusion.iter().any(|row| row.get(c).is_some_and(|&n| n > 0));
    (0..m.support.len())
        .filter(|&c| m.support[c] > 0 || predicted(c))
        .collect()
}

/// The unweighted mean F1 over `classes`.
pub fn macro_f1(m: &EvalMetrics, classes: &[usize]) -> f64 {
    if classes.is_empty() {
        return 0.0;
    }
    classes.iter().map(|&c| m.f1[c]).sum::<f64>() / classes.len() as f64
}

/// "loss 0.1983  accuracy 95.50 %  top-5 100.00 %  macro F1 0.954  ROC AUC 0.996"
pub fn headline(m: &EvalMetrics, multi: bool) -> String {
    let mut line = format!(
        "loss {:.4}  {} {:.2} %",
        m.loss,
        if multi { "exact match" } else { "accuracy" },
        m.accuracy * 100.0
    );
    if let Some((name, value)) = m.second_figure() {
        let _ = write!(line, "  {name} {:.2} %", value * 100.0);
    }
    let _ = write!(line, "  macro F1 {:.3}", m.f1_macro);
    match m.auc {
        Some(auc) => {
            let _ = write!(line, "  ROC AUC {auc:.3}");
        }
        None => line += "  ROC AUC - (no class has images both with and without it, or too many scores to keep)",
    }
    line
}

/// A row per class of `rows`: precision, recall, F1 and images, then the macro means.
pub fn per_class(names: &[String], m: &EvalMetrics, rows: &[usize]) -> String {
    let width = rows
        .iter()
        .map(|&c| fit(&names[c], NAME_WIDTH).chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!("{:<width$}  precision  recall     F1  images\n", "class");
    for &c in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>6}",
            fit(&names[c], NAME_WIDTH),
            m.precision[c],
            m.recall[c],
            m.f1[c],
            m.support[c]
        );
    }
    let mean = |v: &[f64]| rows.iter().map(|&c| v[c]).sum::<f64>() / rows.len().max(1) as f64;
    let _ = writeln!(
        out,
        "{:<width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:>6}",
        "macro",
        mean(&m.precision),
        mean(&m.recall),
        m.f1_macro,
        m.samples
    );
    out
}

/// The confusion matrix over `rows` (rows the true class, columns the predicted one), zeros as
/// dots; `None` past [`MATRIX_CLASSES`] classes, where it would not fit a terminal.
pub fn confusion(names: &[String], m: &EvalMetrics, rows: &[usize]) -> Option<String> {
    if rows.len() > MATRIX_CLASSES || m.confusion.is_empty() {
        return None;
    }
    let named = rows.iter().all(|&c| names[c].chars().count() <= SHORT_NAME);
    let label = |i: usize, c: usize| if named { names[c].clone() } else { (i + 1).to_string() };
    let largest = rows
        .iter()
        .flat_map(|&t| rows.iter().map(move |&p| m.confusion[t][p]))
        .max();
    let cell = rows
        .iter()
        .enumerate()
        .map(|(i, &c)| label(i, c).chars().count())
        .chain([largest.unwrap_or(0).to_string().len()])
        .max()
        .unwrap_or(1);
    let row_width = rows
        .iter()
        .enumerate()
        .map(|(i, &c)| row_label(named, i, &names[c]).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("{:row_width$}", "");
    for (i, &c) in rows.iter().enumerate() {
        let _ = write!(out, " {:>cell$}", label(i, c));
    }
    out.push('\n');
    for (i, &t) in rows.iter().enumerate() {
        let _ = write!(out, "{:<row_width$}", row_label(named, i, &names[t]));
        for &p in rows {
            match m.confusion[t][p] {
                0 => {
                    let _ = write!(out, " {:>cell$}", ".");
                }
                n => {
                    let _ = write!(out, " {n:>cell$}");
                }
            }
        }
        out.push('\n');
    }
    Some(out)
}

fn row_label(named: bool, i: usize, name: &str) -> String {
    match named {
        true => name.to_string(),
        false => format!("{:>2} {}", i + 1, fit(name, NAME_WIDTH)),
    }
}

/// The `n` largest off-diagonal cells: "7 as 1 (3)", largest first.
pub fn most_confused(names: &[String], m: &EvalMetrics, n: usize) -> Vec<String> {
    let mut cells: Vec<(u64, usize, usize)> = m
        .confusion
        .iter()
        .enumerate()
        .flat_map(|(t, row)| row.iter().enumerate().map(move |(p, &count)| (count, t, p)))
        .filter(|&(count, t, p)| count > 0 && t != p)
        .collect();
    cells.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    cells
        .into_iter()
        .take(n)
        .map(|(count, t, p)| format!("{} as {} ({count})", names[t], names[p]))
        .collect()
}

/// A line per mistake: its confidence, the image and what went wrong.
pub fn mistake_lines(names: &[String], worst: &[Mistake], image: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    for mistake in worst {
        let what = match &mistake.wrong {
            Wrong::Class {
                label,
                predicted,
                label_probability,
            } => format!(
                "labelled {}, predicted {} ({} at {:.1} %)",
                names[*label],
                names[*predicted],
                names[*label],
                label_probability * 100.0
            ),
            Wrong::Labels(labels) => labels
                .iter()
                .map(|&(c, p, present)| match present {
                    true => format!("{} labelled but at {:.1} %", names[c], p * 100.0),
                    false => format!("{} at {:.1} % but not labelled", names[c], p * 100.0),
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        let _ = writeln!(
            out,
            "  {:>5.1} %  {}: {what}",
            mistake.confidence * 100.0,
            image(mistake.image)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes; the images hold only "cat" and "dog", and one dog was called "fox".
    fn metrics() -> EvalMetrics {
        EvalMetrics {
            loss: 0.5,
            accuracy: 0.8,
            top5: None,
            label_accuracy: None,
            f1_macro: 0.0,
            auc: Some(0.9),
            precision: vec![1.0, 1.0, 0.0],
            recall: vec![1.0, 0.5, 0.0],
            f1: vec![1.0, 2.0 / 3.0, 0.0],
            confusion: vec![vec![3, 0, 0], vec![0, 1, 1], vec![0, 0, 0]],
            support: vec![3, 2, 0],
            samples: 5,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_and_means_cover_the_classes_with_images_and_the_matrix_those_predicted_too() {
        let m = metrics();
        assert_eq!(with_images(&m), [0, 1]);
        assert_eq!(macro_f1(&m, &with_images(&m)), (1.0 + 2.0 / 3.0) / 2.0);
        // "fox" has no images but was predicted once: the matrix shows it.
        assert_eq!(in_matrix(&m), [0, 1, 2]);
        let mut right = metrics();
        right.confusion = vec![vec![3, 0, 0], vec![0, 2, 0], vec![0, 0, 0]];
        assert_eq!(in_matrix(&right), [0, 1]);
    }

    #[test]
    fn the_matrix_uses_short_names_as_headers_and_dots_for_zeros() {
        let m = metrics();
        let text = confusion(&names(&["cat", "dog", "fox"]), &m, &[0, 1, 2]).unwrap();
        assert_eq!(
            text,
            "    cat dog fox\ncat   3   .   .\ndog   .   1   1\nfox   .   .   .\n"
        );
        // Long names become numbered rows.
        let long = names(&["a tabby cat", "a spotted dog", "fox"]);
        let text = confusion(&long, &m, &[0, 1, 2]).unwrap();
        assert!(
            text.starts_with("                 1 2 3\n 1 a tabby cat   3 . .\n"),
            "{text}"
        );
    }

    #[test]
    fn the_most_confused_pairs_come_largest_first() {
        let mut m = metrics();
        m.confusion = vec![vec![3, 1, 0], vec![4, 1, 1], vec![0, 0, 0]];
        let pairs = most_confused(&names(&["cat", "dog", "fox"]), &m, 2);
        assert_eq!(pairs, ["dog as cat (4)", "cat as dog (1)"]);
    }

    #[test]
    fn the_table_ends_with_the_macro_row() {
        let mut m = metrics();
        m.f1_macro = macro_f1(&m, &[0, 1]);
        let table = per_class(&names(&["cat", "dog", "fox"]), &m, &[0, 1]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[1], "cat        1.000   1.000  1.000       3");
        assert_eq!(lines[3], "macro      1.000   0.750  0.833       5");
    }
}
