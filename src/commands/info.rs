use crate::backend::Cpu;
use crate::model::{Arch, GroupKind, ResNetConfig};

#[derive(Debug, clap::Args)]
pub struct Options {
    /// resnet18, resnet34, resnet50, resnet101 or resnet152.
    pub model: Arch,
    /// Class count of the head.
    #[arg(long, default_value_t = 1000)]
    pub num_classes: usize,
    /// List every block inside the stages.
    #[arg(long)]
    pub blocks: bool,
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let Options {
        model: arch,
        num_classes,
        blocks,
    } = opts;
    let model = ResNetConfig::new(arch, num_classes).init::<Cpu>(&Default::default());
    let kind = match arch.block_kind() {
        crate::model::BlockKind::Basic => "basic blocks",
        crate::model::BlockKind::Bottleneck => "bottleneck blocks",
    };
    let mut text = format!(
        "{arch} ({kind}, {num_classes} classes)\n{:<12} {:>12}\n",
        "group", "parameters"
    );
    for group in model.groups() {
        match group.kind {
            GroupKind::Block if !blocks => continue,
            GroupKind::Block => text += &format!("  {:<10} {:>12}\n", group.name, thousands(group.params)),
            _ => text += &format!("{:<12} {:>12}\n", group.name, thousands(group.params)),
        }
    }
    text += &format!("{:<12} {:>12}\n", "total", thousands(model.param_count()));
    Ok(super::print_all(&text)?)
}

/// 25557032 -> "25,557,032".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
