//! kiln: fine-tune pretrained ResNet image classifiers from the terminal.

pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod headless;
pub mod model;
pub mod predict;
pub mod runlog;
pub mod suggest;
pub mod train;
pub mod weights;
