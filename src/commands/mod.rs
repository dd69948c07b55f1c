//! One file per subcommand: argument handling and printing, over the library's logic.

pub mod export;
pub mod info;
pub mod predict;
pub mod train;
