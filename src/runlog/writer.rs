use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::train::event::{EpochInfo, Event, Record, Summary};

/// A run's directory and the names of the files in it.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `runs_dir/<timestamp>-<name>/`, adding a counter if that exists already.
    pub fn create(runs_dir: &Path, name: &str) -> anyhow::Result<Self> {
        let stem = format!("{}-{}", timestamp(SystemTime::now()), sanitize(name));
        for n in 0..1000 {
            let dir = if n == 0 {
                runs_dir.join(&stem)
            } else {
                runs_dir.join(format!("{stem}-{n}"))
            };
            if dir.exists() {
                continue;
            }
            std::fs::create_dir_all(dir.join("checkpoints"))
                .with_context(|| format!("cannot create run directory {}", dir.display()))?;
            return Ok(Self { path: dir });
        }
        anyhow::bail!("too many runs named {stem} in {}", runs_dir.display())
    }

    /// Refuses a run path that does not exist, saying where it was looked for.
    pub fn ensure_exists(path: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            path.exists(),
            "run directory {}{} does not exist; `kiln runs` lists the runs in runs/ (`kiln runs DIR` those in DIR)",
            path.display(),
            crate::relative::from_cwd(path)
        );
        Ok(())
    }

    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::ensure_exists(path)?;
        anyhow::ensure!(
            path.join("config.toml").is_file(),
            "{} is not a kiln run directory (it has no config.toml)",
            path.display()
        );
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    pub fn config(&self) -> PathBuf {
        self.path.join("config.toml")
    }
    pub fn classes(&self) -> PathBuf {
        self.path.join("classes.txt")
    }
    pub fn split(&self) -> PathBuf {
        self.path.join("split.csv")
    }
    pub fn events(&self) -> PathBuf {
        self.path.join("events.jsonl")
    }
    pub fn metrics(&self) -> PathBuf {
        self.path.join("metrics.csv")
    }
    pub fn summary(&self) -> PathBuf {
        self.path.join("summary.json")
    }
    pub fn checkpoint(&self, which: &str) -> PathBuf {
        self.path.join("checkpoints").join(which)
    }
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "run".into() } else { s }
}

/// `YYYYmmdd-HHMMSS` in UTC.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Appends events and metrics to a run directory, each line flushed as it is written so a
/// killed run loses nothing it reported.
pub struct RunLog {
    dir: RunDir,
    events: BufWriter<File>,
    /// metrics.csv's columns, as its header names them: a run resumed by a newer kiln keeps
    /// the columns it started with.
    columns: Vec<String>,
}

const METRICS_HEADER: &str = "epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,val_f1_macro,lr_backbone,lr_head,best,seconds,images_per_second,val_auc\n";

impl RunLog {
    /// Opens the logs for appending (a resumed run continues the same files).
    pub fn open(dir: &RunDir) -> anyhow::Result<Self> {
        let events = append(&dir.events())?;
        let metrics_path = dir.metrics();
        if !metrics_path.exists() {
            std::fs::write(&metrics_path, METRICS_HEADER)
                .with_context(|| format!("cannot write {}", metrics_path.display()))?;
        }
        let mut header = String::new();
        File::open(&metrics_path)
            .and_then(|f| BufReader::new(f).read_line(&mut header))
            .with_context(|| format!("cannot read {}", metrics_path.display()))?;
        let header = Some(header.trim_end())
            .filter(|h| !h.is_empty())
            .unwrap_or(METRICS_HEADER.trim_end());
        Ok(Self {
            dir: dir.clone(),
            events: BufWriter::new(events),
            columns: header.split(',').map(str::to_string).collect(),
        })
    }

    pub fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.events, record)?;
        self.events.write_all(b"\n")?;
        self.events.flush()?;
        match &record.event {
            Event::Epoch(info) => self.write_metrics(record, info)?,
            Event::Finished(summary) => self.write_summary(summary)?,
            _ => {}
        }
        Ok(())
    }

    fn write_metrics(&mut self, record: &Record, e: &EpochInfo) -> anyhow::Result<()> {
        let lr = |g: &str| e.lr.get(g).map(|v| format!("{v:e}")).unwrap_or_default();
        let backbone =
            e.lr.iter()
                .find(|(g, _)| g.as_str() != "head")
                .map(|(_, v)| format!("{v:e}"))
                .unwrap_or_default();
        let six = |v: f64| format!("{v:.6}");
        let values: [(&str, String); 14] = [
            ("epoch", record.epoch.to_string()),
            ("step", record.step.to_string()),
            ("train_loss", six(e.train_loss)),
            ("train_accuracy", six(e.train_accuracy)),
            ("val_loss", six(e.val.loss)),
            ("val_accuracy", six(e.val.accuracy)),
            // Empty where there is no top-5 (multi-label runs, 5 classes or fewer) or no AUC.
            ("val_top5", e.val.top5.map(six).unwrap_or_default()),
            ("val_f1_macro", six(e.val.f1_macro)),
            ("lr_backbone", backbone),
            ("lr_head", lr("head")),
            ("best", e.best.to_string()),
            ("seconds", format!("{:.2}", e.seconds)),
            ("images_per_second", format!("{:.1}", e.images_per_second)),
            ("val_auc", e.val.auc.map(six).unwrap_or_default()),
        ];
        let cell = |column: &String| values.iter().find(|(name, _)| name == column).map(|(_, v)| v.as_str());
        let mut row = self
            .columns
            .iter()
            .map(|c| cell(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(",");
        row.push('\n');
        let mut f = append(&self.dir.metrics())?;
        f.write_all(row.as_bytes())?;
        Ok(())
    }

    fn write_summary(&self, summary: &Summary) -> anyhow::Result<()> {
        let path = self.dir.summary();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(summary)? + "\n")?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }
}

fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn opening_a_missing_or_foreign_folder_says_which() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = RunDir::open(&tmp.path().join("nope")).unwrap_err().to_string();
        assert!(
            missing
                .ends_with("nope does not exist; `kiln runs` lists the runs in runs/ (`kiln runs DIR` those in DIR)"),
            "{missing}"
        );
        let foreign = RunDir::open(tmp.path()).unwrap_err().to_string();
        assert!(
            foreign.ends_with("is not a kiln run directory (it has no config.toml)"),
            "{foreign}"
        );
    }

    #[test]
    fn metrics_rows_follow_the_header_the_file_started_with() {
        use crate::tui::fixtures::{epoch_info, record};
        let tmp = tempfile::tempdir().unwrap();
        let epoch = |log: &mut RunLog| {
            let r = record(0.0, 11, 1, Event::Epoch(Box::new(epoch_info(0.3, true))));
            log.write(&r).unwrap();
        };
        let rows = |dir: &RunDir| -> Vec<Vec<String>> {
            let text = std::fs::read_to_string(dir.metrics()).unwrap();
            text.lines()
                .map(|l| l.split(',').map(str::to_string).collect())
                .collect()
        };
        let fresh = RunDir::create(tmp.path(), "fresh").unwrap();
        epoch(&mut RunLog::open(&fresh).unwrap());
        let got = rows(&fresh);
        assert_eq!(got[0].last().unwrap(), "val_auc");
        assert_eq!(got[1].len(), got[0].len());
        assert_eq!(
            (&got[1][..2], got[1][6].as_str(), got[1][13].as_str()),
            (&["1".to_string(), "11".into()][..], "0.990000", "0.950000")
        );
        // A run begun before val_auc existed keeps its 13 columns when it is resumed.
        let old = RunDir::create(tmp.path(), "old").unwrap();
        let header = "epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,val_top5,val_f1_macro,lr_backbone,lr_head,best,seconds,images_per_second";
        std::fs::write(old.metrics(), format!("{header}\n")).unwrap();
        epoch(&mut RunLog::open(&old).unwrap());
        let got = rows(&old);
        assert_eq!(got[0].len(), 13);
        assert_eq!(got[1].len(), 13);
        assert_eq!(got[1][12], "39.0");
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_824_930); // 2026-11-28 00:15:30 UTC
        assert_eq!(timestamp(t), "20261128-001530");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229-000000"
        );
    }
}
