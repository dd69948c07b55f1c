//! The run directory: what a run leaves behind so it can be resumed, replayed and compared.
//!
//! ```text
//! runs/<YYYYmmdd-HHMMSS>-<name>/
//!   config.toml     the resolved config
//!   classes.txt     class names in label order
//!   split.csv       path,class,split for every image
//!   events.jsonl    every event, one JSON object per line, flushed as written
//!   metrics.csv     one row per epoch
//!   summary.json    how the run ended
//!   checkpoints/last, checkpoints/best
//! ```

mod reader;
mod writer;

pub use reader::{read_events, read_summary};
pub use writer::{RunDir, RunLog, timestamp};
