//! Fine-tuning: the trainer thread, its commands and events, and the pieces of the loop.

pub mod advice;
pub mod auc;
pub mod checkpoint;
pub mod command;
pub mod control;
pub mod emitter;
pub mod epoch_stats;
pub mod evaluate;
pub mod event;
pub mod feature_cache;
pub mod freeze;
pub mod loss;
pub mod loss_scale;
pub mod lr_find;
pub mod metrics;
pub mod multi_label_metrics;
pub mod optim;
pub mod schedule;
pub mod setup;
pub mod step;
pub mod targets;
pub mod trainer;
