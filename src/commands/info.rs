use crate::backend::Cpu;
use crate::model::{Arch, GroupKind, ResNetConfig};

pub fn run(arch: Arch, num_classes: usize, blocks: bool) -> anyhow::Result<()> {
    let model = ResNetConfig::new(arch, num_classes).init::<Cpu>(&Default::default());
    let kind = match arch.block_kind() {
        crate::model::BlockKind::Basic => "basic blocks",
        crate::model::BlockKind::Bottleneck => "bottleneck blocks",
    };
    println!("{arch} ({kind}, {num_classes} classes)");
    println!("{:<12} {:>12}", "group", "parameters");
    for group in model.groups() {
        match group.kind {
            GroupKind::Block if !blocks => continue,
            GroupKind::Block => println!("  {:<10} {:>12}", group.name, thousands(group.params)),
            _ => println!("{:<12} {:>12}", group.name, thousands(group.params)),
        }
    }
    println!("{:<12} {:>12}", "total", thousands(model.param_count()));
    Ok(())
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
