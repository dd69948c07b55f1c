//! Where records come from: the trainer's channel, or a run's `events.jsonl` read as it grows.
//! Each source runs on its own thread and hands records to the dashboard's tokio channel.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::train::event::{Event, Record};

/// How often a live file is checked for new lines.
const POLL: Duration = Duration::from_millis(250);

/// Forwards the trainer's records until the trainer is done or the dashboard is gone.
pub fn bridge(events: Receiver<Record>, tx: UnboundedSender<Record>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("kiln-tui-bridge".into())
        .spawn(move || {
            for record in events.iter() {
                if tx.send(record).is_err() {
                    break;
                }
            }
        })?;
    Ok(())
}

/// Reads `path` from the start and keeps reading as it grows, until the run's `Finished`
/// record or until the dashboard is gone. A line still being written is waited for.
pub fn follow(path: PathBuf, tx: UnboundedSender<Record>) -> anyhow::Result<()> {
    let file = std::fs::File::open(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    std::thread::Builder::new()
        .name("kiln-tui-follow".into())
        .spawn(move || {
            let mut reader = BufReader::new(file);
            let mut line = String::new();
            let mut number = 0;
            loop {
                match reader.read_line(&mut line) {
                    Ok(0) => {
                        if tx.is_closed() {
                            return;
                        }
                        std::thread::sleep(POLL);
                        continue;
                    }
                    Ok(_) if !line.ends_with('\n') => continue,
                    Ok(_) => {}
                    Err(_) => return,
                }
                number += 1;
                let text = std::mem::take(&mut line);
                if text.trim().is_empty() {
                    continue;
                }
                let record = serde_json::from_str::<Record>(&text).unwrap_or_else(|e| Record {
                    time: 0.0,
                    step: 0,
                    epoch: 0,
                    event: Event::Warning {
                        message: format!("{}:{number}: not a kiln event: {e}", path.display()),
                    },
                });
                let last = matches!(record.event, Event::Finished(_));
                if tx.send(record).is_err() || last {
                    return;
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn follows_a_growing_file_and_waits_for_half_written_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let warning = |m: &str| {
            serde_json::to_string(&Record {
                time: 1.0,
                step: 3,
                epoch: 1,
                event: Event::Warning { message: m.into() },
            })
            .unwrap()
        };
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(file, "{}", warning("one")).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        follow(path.clone(), tx).unwrap();
        let first = rx.blocking_recv().unwrap();
        assert_eq!(first.event, Event::Warning { message: "one".into() });
        // Half a line now, the rest later: one record, whole.
        let two = warning("two");
        let (a, b) = two.split_at(10);
        write!(file, "{a}").unwrap();
        file.flush().unwrap();
        std::thread::sleep(POLL * 2);
        assert!(rx.try_recv().is_err(), "a half line is not a record");
        writeln!(file, "{b}").unwrap();
        let second = rx.blocking_recv().unwrap();
        assert_eq!(second.event, Event::Warning { message: "two".into() });
    }
}
