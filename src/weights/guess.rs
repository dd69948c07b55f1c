use crate::model::Arch;

/// Recognises which torchvision ResNet a state dict belongs to from its tensor names,
/// so a mismatch can say "this looks like resnet50" instead of only listing shapes.
pub fn guess_arch<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Arch> {
    let mut blocks = [0usize; 4];
    let mut bottleneck = false;
    for name in names {
        let mut parts = name.split('.');
        let Some(stage) = parts.next().and_then(|s| s.strip_prefix("layer")) else {
            continue;
        };
        let (Ok(stage), Some(Ok(block))) = (stage.parse::<usize>(), parts.next().map(str::parse::<usize>)) else {
            continue;
        };
        if (1..=4).contains(&stage) {
            blocks[stage - 1] = blocks[stage - 1].max(block + 1);
        }
        bottleneck |= parts.next() == Some("conv3");
    }
    Arch::ALL.into_iter().find(|a| {
        a.blocks_per_stage() == blocks && (a.block_kind() == crate::model::BlockKind::Bottleneck) == bottleneck
    })
}
