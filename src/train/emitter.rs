//! The one way events leave the trainer: into the run log first, then to whoever listens.

use std::sync::mpsc::Sender;
use std::time::{SystemTime, UNIX_EPOCH};

use super::event::{Event, Record};
use crate::runlog::RunLog;

/// Writes each event to the run log first, then hands it on.
pub struct Emitter {
    pub(super) log: RunLog,
    pub(super) tx: Sender<Record>,
    pub step: u64,
    pub epoch: usize,
}

impl Emitter {
    pub fn emit(&mut self, event: Event) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let record = Record {
            time,
            step: self.step,
            epoch: self.epoch,
            event,
        };
        if let Err(e) = self.log.write(&record) {
            // The run log is the record of truth; say so loudly but keep training.
            let _ = self.tx.send(Record {
                event: Event::Warning {
                    message: format!("cannot write the run log: {e:#}"),
                },
                ..record.clone()
            });
        }
        // A consumer that went away (closed dashboard) must not stop training.
        let _ = self.tx.send(record);
    }
}
