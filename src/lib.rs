//! kiln: fine-tune pretrained ResNet image classifiers from the terminal.

pub mod activation;
pub mod adamw;
pub mod allocator;
pub mod backend;
pub mod batch_norm;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod conv;
pub mod cuda_toolkit;
pub mod data;
pub mod device;
pub mod evaluation;
mod fill;
pub mod first_kept;
mod flex_values;
pub mod headless;
pub mod model;
pub mod pool;
pub mod predict;
mod relative;
pub mod runlog;
mod squares;
pub mod suggest;
pub mod telemetry;
#[cfg(test)]
mod test_draws;
pub mod train;
pub mod tui;
mod vectors;
pub mod weights;
