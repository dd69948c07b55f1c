//! The one way events leave the trainer: into the run log first, then to whoever listens.
//! The telemetry thread emits through the same path, so the log keeps one order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::event::{Event, Record};
use crate::runlog::RunLog;
use crate::telemetry::{Sample, Sink};

/// Writes each event to the run log first, then hands it on.
pub struct Emitter {
    shared: Arc<Shared>,
    pub step: u64,
    pub epoch: usize,
}

struct Shared {
    out: Mutex<(RunLog, Sender<Record>)>,
    /// Where the trainer was at its last event, for events from other threads.
    position: Mutex<(u64, usize)>,
    /// `Finished` is the last word: nothing from other threads comes after it.
    finished: AtomicBool,
}

impl Emitter {
    pub fn new(log: RunLog, tx: Sender<Record>) -> Self {
        Self {
            shared: Arc::new(Shared {
                out: Mutex::new((log, tx)),
                position: Mutex::new((0, 0)),
                finished: AtomicBool::new(false),
            }),
            step: 0,
            epoch: 0,
        }
    }

    pub fn emit(&mut self, event: Event) {
        if let Ok(mut position) = self.shared.position.lock() {
            *position = (self.step, self.epoch);
        }
        let finished = matches!(event, Event::Finished(_));
        self.shared.send(self.step, self.epoch, event);
        if finished {
            self.shared.finished.store(true, Ordering::SeqCst);
        }
    }

    /// A sink for hardware samples that emits them as events at the trainer's current step.
    pub fn telemetry_sink(&self) -> TelemetrySink {
        TelemetrySink(self.shared.clone())
    }
}

impl Shared {
    fn send(&self, step: u64, epoch: usize, event: Event) {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let record = Record {
            time,
            step,
            epoch,
            event,
        };
        let Ok(mut out) = self.out.lock() else { return };
        let (log, tx) = &mut *out;
        if let Err(e) = log.write(&record) {
            // The run log is the record of truth; say so loudly but keep training.
            let _ = tx.send(Record {
                event: Event::Warning {
                    message: format!("cannot write the run log: {e:#}"),
                },
                ..record.clone()
            });
        }
        // A consumer that went away (closed dashboard) must not stop training.
        let _ = tx.send(record);
    }
}

pub struct TelemetrySink(Arc<Shared>);

impl Sink for TelemetrySink {
    fn sample(&mut self, sample: Sample) {
        if self.0.finished.load(Ordering::SeqCst) {
            return;
        }
        let (step, epoch) = self.0.position.lock().map(|p| *p).unwrap_or_default();
        self.0.send(step, epoch, Event::Telemetry(Box::new(sample)));
    }
}
