//! Parameter groups by name (`stem`, `layerN`, `layerN.i`, `head`) and which are frozen by default.

use crate::model::Arch;

/// The stages frozen by default: the recipe's "first third of the network", measured in conv
/// layers along the main path and rounded to whole stages (stem, layer1, ...), whichever prefix
/// is closest to a third of the depth. ResNet-18 -> stem + layer1 (5 of 17 convs);
/// ResNet-34/50/101/152 -> stem + layer1 + layer2 (15/34, 22/49, 22/100, 34/151).
/// (The recipe's other example, "the first 100 layers of ResNet-152", is two thirds; set
/// `train.freeze` to block names such as `"layer3.21"` for that.)
pub fn default_freeze(arch: Arch) -> Vec<String> {
    let per_block = match arch.block_kind() {
        crate::model::BlockKind::Basic => 2,
        crate::model::BlockKind::Bottleneck => 3,
    };
    let stages = arch.blocks_per_stage();
    let total: usize = 1 + stages.iter().map(|b| b * per_block).sum::<usize>() + 1; // stem .. fc
    let third = total as f64 / 3.0;
    let mut depth = 1usize; // the stem's conv
    let mut best = (0usize, (depth as f64 - third).abs());
    for (i, blocks) in stages.iter().enumerate().take(3) {
        depth += blocks * per_block;
        let err = (depth as f64 - third).abs();
        if err < best.1 {
            best = (i + 1, err);
        }
    }
    let mut out = vec!["stem".to_string()];
    out.extend((1..=best.0).map(|i| format!("layer{i}")));
    out
}

/// Every group name of an architecture: stem, layer1..4, each block `layerN.i`, head.
pub fn group_names(arch: Arch) -> Vec<String> {
    let mut out = vec!["stem".to_string()];
    for (s, blocks) in arch.blocks_per_stage().iter().enumerate() {
        out.push(format!("layer{}", s + 1));
        out.extend((0..*blocks).map(|i| format!("layer{}.{i}", s + 1)));
    }
    out.push("head".to_string());
    out
}

/// Checks that `name` is a group of `arch`; the error says what the valid names are.
pub fn check_group_name(arch: Arch, name: &str) -> Result<(), String> {
    if group_names(arch).iter().any(|g| g == name) {
        return Ok(());
    }
    let blocks = arch.blocks_per_stage();
    let hint = if let Some(rest) = name.strip_prefix("layer")
        && let Some((stage, block)) = rest.split_once('.')
        && let (Ok(s), Ok(_)) = (stage.parse::<usize>(), block.parse::<usize>())
        && (1..=4).contains(&s)
    {
        format!("{arch} has blocks layer{s}.0 to layer{s}.{}", blocks[s - 1] - 1)
    } else {
        format!(
            "valid groups of {arch} are stem, layer1..layer4, blocks layerN.i (layer1.0..layer1.{}, layer2.0..layer2.{}, \
             layer3.0..layer3.{}, layer4.0..layer4.{}) and head",
            blocks[0] - 1,
            blocks[1] - 1,
            blocks[2] - 1,
            blocks[3] - 1
        )
    };
    Err(format!("unknown group '{name}': {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::{MINIMAL, load_str};

    #[test]
    fn default_freeze_is_about_a_third_of_the_depth() {
        assert_eq!(default_freeze(Arch::ResNet18), ["stem", "layer1"]);
        for a in [Arch::ResNet34, Arch::ResNet50, Arch::ResNet101, Arch::ResNet152] {
            assert_eq!(default_freeze(a), ["stem", "layer1", "layer2"], "{a}");
        }
    }

    #[test]
    fn default_freeze_follows_the_arch_unless_given() {
        let c = load_str(MINIMAL, &["model.arch=resnet50"]).unwrap();
        assert_eq!(c.train.freeze, ["stem", "layer1", "layer2"]);
        let c = load_str(MINIMAL, &["model.arch=resnet50", "train.freeze=[]"]).unwrap();
        assert!(c.train.freeze.is_empty());
        let c = load_str(&format!("{MINIMAL}[train]\nfreeze = [\"layer4.1\"]\n"), &[]).unwrap();
        assert_eq!(c.train.freeze, ["layer4.1"]);
    }

    #[test]
    fn group_names_cover_stages_and_blocks() {
        let g = group_names(Arch::ResNet152);
        assert_eq!(g.len(), 1 + 4 + (3 + 8 + 36 + 3) + 1);
        assert!(check_group_name(Arch::ResNet152, "layer3.35").is_ok());
        assert!(check_group_name(Arch::ResNet152, "layer3.36").is_err());
        assert!(check_group_name(Arch::ResNet18, "head").is_ok());
    }
}
