//! ResNet-18..152 in torchvision's layout, with named groups for freezing and per-group learning rates.

mod arch;
mod block;
mod fold;
mod groups;
mod named;
mod norm;
mod resnet;
mod running_stats;

pub use arch::{Arch, BlockKind, UnknownArch};
pub use block::Block;
pub use fold::FoldedPrefix;
pub use groups::groups_of;
pub use groups::{Group, GroupKind};
pub use named::TensorVisitor;
pub use norm::{BnMode, batch_norm};
pub use resnet::{BnModes, ResNet, ResNetConfig, global_pool, stage_side};
pub use running_stats::RunningStats;
