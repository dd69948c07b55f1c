//! kiln: fine-tune pretrained ResNet image classifiers from the terminal.

pub mod backend;
pub mod cli;
mod commands;
pub mod data;
pub mod model;
pub mod predict;
pub mod weights;
