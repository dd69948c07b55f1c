//! The model's shape: torchvision's parameter counts, names and groups.

use kiln::backend::Cpu;
use kiln::model::{Arch, GroupKind, ResNet, ResNetConfig};

fn model(arch: Arch, classes: usize) -> ResNet<Cpu> {
    ResNetConfig::new(arch, classes).init(&Default::default())
}

#[test]
fn parameter_counts_equal_torchvision() {
    let torchvision = [
        (Arch::ResNet18, 11_689_512),
        (Arch::ResNet34, 21_797_672),
        (Arch::ResNet50, 25_557_032),
        (Arch::ResNet101, 44_549_160),
        (Arch::ResNet152, 60_192_808),
    ];
    for (arch, expected) in torchvision {
        assert_eq!(model(arch, 1000).param_count(), expected, "{arch}");
    }
}

#[test]
fn head_follows_class_count() {
    // 512 * 10 + 10 for resnet18, 2048 * 3 + 3 for resnet50.
    let head = |m: &ResNet<Cpu>| m.groups().into_iter().find(|g| g.name == "head").unwrap().params;
    assert_eq!(head(&model(Arch::ResNet18, 10)), 5_130);
    assert_eq!(head(&model(Arch::ResNet50, 3)), 6_147);
    assert_eq!(model(Arch::ResNet18, 10).num_classes(), 10);
}

#[test]
fn groups_are_ordered_and_add_up() {
    let m = model(Arch::ResNet152, 1000);
    let groups = m.groups();
    let top: Vec<&str> = groups
        .iter()
        .filter(|g| g.kind != GroupKind::Block)
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(top, ["stem", "layer1", "layer2", "layer3", "layer4", "head"]);
    let blocks_of = |stage: &str| groups.iter().filter(|g| g.parent.as_deref() == Some(stage)).count();
    assert_eq!(
        [
            blocks_of("layer1"),
            blocks_of("layer2"),
            blocks_of("layer3"),
            blocks_of("layer4")
        ],
        [3, 8, 36, 3]
    );
    // A stage's count is the sum of its blocks'; the stem is conv1 (7*7*3*64) + bn1 (2*64).
    for stage in ["layer1", "layer2", "layer3", "layer4"] {
        let stage_params = groups.iter().find(|g| g.name == stage).unwrap().params;
        let sum: usize = groups
            .iter()
            .filter(|g| g.parent.as_deref() == Some(stage))
            .map(|g| g.params)
            .sum();
        assert_eq!(stage_params, sum, "{stage}");
    }
    assert_eq!(groups[0].params, 7 * 7 * 3 * 64 + 2 * 64);
    let l37 = groups.iter().position(|g| g.name == "layer3.7").unwrap();
    assert_eq!(groups[l37 - 1].name, "layer3.6");
}

#[test]
fn tensor_names_follow_torchvision() {
    use burn::module::{Param, RunningState};
    use burn::prelude::*;
    use kiln::model::TensorVisitor;

    #[derive(Default)]
    struct Names(Vec<(String, Vec<usize>)>);
    impl<B: Backend> TensorVisitor<B> for Names {
        fn param<const D: usize>(&mut self, name: &str, p: &mut Param<Tensor<B, D>>, transposed: bool) {
            let mut s = p.shape().dims::<D>().to_vec();
            if transposed {
                s.reverse();
            }
            self.0.push((name.into(), s));
        }
        fn buffer(&mut self, name: &str, b: &mut RunningState<Tensor<B, 1>>) {
            self.0.push((name.into(), b.value().dims().to_vec()));
        }
    }
    let mut names = Names::default();
    model(Arch::ResNet50, 7).walk_tensors(&mut names);
    let find = |n: &str| names.0.iter().find(|(k, _)| k == n).map(|(_, s)| s.clone());
    assert_eq!(find("conv1.weight"), Some(vec![64, 3, 7, 7]));
    assert_eq!(find("layer1.0.downsample.0.weight"), Some(vec![256, 64, 1, 1]));
    assert_eq!(find("layer2.0.conv2.weight"), Some(vec![128, 128, 3, 3]));
    assert_eq!(find("layer4.2.bn3.running_var"), Some(vec![2048]));
    assert_eq!(find("fc.weight"), Some(vec![7, 2048]));
    assert_eq!(find("layer1.1.downsample.0.weight"), None);
    // torchvision's resnet50 state dict: 320 entries, 53 of them BatchNorm counters.
    assert_eq!(names.0.len(), 320 - 53);
}

#[test]
fn forward_gives_one_row_of_logits_per_image() {
    use burn::prelude::*;
    let m = ResNetConfig::new(Arch::ResNet18, 4)
        .with_dropout(0.5)
        .init::<Cpu>(&Default::default());
    let x = Tensor::<Cpu, 4>::zeros([3, 3, 32, 32], &Default::default());
    assert_eq!(m.forward(x).dims(), [3, 4]);
}

#[test]
fn arch_names_parse_with_a_clear_error() {
    assert_eq!("ResNet-50".parse::<Arch>().unwrap(), Arch::ResNet50);
    let err = "resnet42".parse::<Arch>().unwrap_err().to_string();
    assert!(err.contains("resnet42") && err.contains("resnet152"), "{err}");
}
