//! `kiln runs [DIR]` (or `--runs-dir DIR`, as `train` takes it): one line per run directory:
//! name, model, data, status, best validation accuracy, epochs and when it started.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::runlog::{RunDir, read_summary};
use crate::tui::view::format::fit;

#[derive(Debug, clap::Args)]
pub struct Options {
    /// The directory holding run directories [default: runs].
    pub dir: Option<PathBuf>,
    /// The same, spelled as `kiln train` takes it.
    #[arg(long, value_name = "DIR", conflicts_with = "dir")]
    pub runs_dir: Option<PathBuf>,
}

/// A run without a summary whose log changed this recently is taken to be still going.
const LIVE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub name: String,
    pub model: String,
    pub data: String,
    pub status: String,
    /// Best validation accuracy, 0–1.
    pub best: Option<f64>,
    pub epochs: String,
    pub date: String,
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let dir = opts.dir.or(opts.runs_dir).unwrap_or_else(|| "runs".into());
    let rows = list(&dir)?;
    if rows.is_empty() {
        println!("no runs in {}", dir.display());
        return Ok(());
    }
    Ok(super::print_all(&table(&rows))?)
}

/// Every run directory (one with a config.toml) under `dir`, oldest first.
pub fn list(dir: &Path) -> anyhow::Result<Vec<RunRow>> {
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
    let mut dirs: Vec<RunDir> = entries.flatten().filter_map(|e| RunDir::open(&e.path()).ok()).collect();
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(dirs.iter().map(row).collect())
}

fn row(dir: &RunDir) -> RunRow {
    let name = dir
        .path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let config = std::fs::read_to_string(dir.config())
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
        .unwrap_or_default();
    let get = |section: &str, key: &str| config.get(section).and_then(|s| s.get(key)).cloned();
    let text = |v: Option<toml::Value>| v.and_then(|v| v.as_str().map(str::to_string)).unwrap_or("-".into());
    let planned = get("train", "epochs").and_then(|v| v.as_integer());
    let summary = read_summary(&dir.summary()).ok();
    // Per-epoch rows say how far an unfinished run got and its best accuracy so far.
    let metrics = epoch_accuracies(&dir.metrics());
    let status = match &summary {
        Some(s) => s.status.as_str().to_string(),
        None if recently_written(&dir.events()) => "running".into(),
        None => "unfinished".into(),
    };
    let best = summary
        .as_ref()
        .and_then(|s| s.val.as_ref().map(|v| v.accuracy))
        .or_else(|| metrics.iter().map(|m| m.1).reduce(f64::max));
    let done = summary
        .as_ref()
        .map_or_else(|| metrics.iter().map(|m| m.0).max().unwrap_or(0), |s| s.epochs_run);
    RunRow {
        date: date(&name),
        name,
        model: text(get("model", "arch")),
        data: text(get("data", "root")),
        status,
        best,
        epochs: planned.map_or(done.to_string(), |p| format!("{done}/{p}")),
    }
}

/// (epoch, val accuracy) of each row of metrics.csv.
fn epoch_accuracies(path: &Path) -> Vec<(usize, f64)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(e), Some(a)) = (col("epoch"), col("val_accuracy")) else {
        return Vec::new();
    };
    lines
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.get(e)?.parse().ok()?, f.get(a)?.parse().ok()?))
        })
        .collect()
}

fn recently_written(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < LIVE)
}

/// `20261128-031500-name` → `2026-11-28 03:15` (UTC, as run directories are named).
fn date(name: &str) -> String {
    let b = name.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if !(digits(0..8) && b.get(8) == Some(&b'-') && digits(9..15)) {
        return "-".into();
    }
    format!(
        "{}-{}-{} {}:{}",
        &name[0..4],
        &name[4..6],
        &name[6..8],
        &name[9..11],
        &name[11..13]
    )
}

pub fn table(rows: &[RunRow]) -> String {
    let header = [
        "run",
        "model",
        "data",
        "status",
        "best val acc",
        "epochs",
        "started (UTC)",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.model.clone(),
                // The end of a path says most; the start is cut.
                fit(&r.data.chars().rev().collect::<String>(), 28)
                    .chars()
                    .rev()
                    .collect(),
                r.status.clone(),
                r.best.map_or("-".into(), |b| format!("{:.1}%", b * 100.0)),
                r.epochs.clone(),
                r.date.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header.map(String::from));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::event::Status;

    fn make_run(runs: &Path, name: &str, epochs: i64, accs: &[f64], status: Option<Status>) {
        let dir = runs.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.toml"),
            format!("[model]\narch = \"resnet50\"\n[data]\nroot = \"assets/digits\"\n[train]\nepochs = {epochs}\n"),
        )
        .unwrap();
        let mut csv = String::from("epoch,step,train_loss,train_accuracy,val_loss,val_accuracy\n");
        for (i, a) in accs.iter().enumerate() {
            csv.push_str(&format!("{},{},0.5,0.8,0.4,{a}\n", i + 1, (i + 1) * 10));
        }
        std::fs::write(dir.join("metrics.csv"), csv).unwrap();
        std::fs::write(dir.join("events.jsonl"), "").unwrap();
        if let Some(status) = status {
            let summary = serde_json::json!({
                "status": status, "best_epoch": 2, "epochs_run": accs.len(), "steps": 20,
                "val": null, "test": null, "images_per_second": 40.0, "wall_seconds": 10.0,
                "skipped_images": 0, "error": null
            });
            std::fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
        }
    }

    #[test]
    fn lists_finished_running_and_interrupted_runs() {
        let tmp = tempfile::tempdir().unwrap();
        make_run(
            tmp.path(),
            "20261128-031500-quickstart",
            10,
            &[0.5, 0.9, 0.8],
            Some(Status::Stopped),
        );
        make_run(tmp.path(), "20261129-120000-live", 5, &[0.7], None);
        std::fs::create_dir(tmp.path().join("not-a-run")).unwrap();
        let rows = list(tmp.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            RunRow {
                name: "20261128-031500-quickstart".into(),
                model: "resnet50".into(),
                data: "assets/digits".into(),
                status: "stopped".into(),
                best: Some(0.9),
                epochs: "3/10".into(),
                date: "2026-11-28 03:15".into(),
            }
        );
        assert_eq!(rows[1].status, "running", "its log was just written");
        assert_eq!(rows[1].epochs, "1/5");
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("run ") && lines[0].contains("best val acc  epochs  started (UTC)"));
        assert!(lines[1].contains("resnet50  assets/digits  stopped  90.0%"), "{text}");
        assert!(lines[2].contains("running  70.0%"), "{text}");
        assert_eq!(date("my-run"), "-");
    }
}
