//! `kiln evaluate`: a model's figures on labelled images it did not train on, class by class,
//! with the images it got most confidently wrong. The command in `commands::evaluate` runs the
//! model (`train::evaluate`, as training's own validation does) over what these gather.

pub mod labelled;
pub mod mistakes;
pub mod report;

pub use labelled::Labelled;
pub use mistakes::{Mistake, Mistakes, Wrong};
