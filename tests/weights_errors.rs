//! Weight files that do not fit: each error names the file, the tensor and the shapes.

mod common;

use std::path::Path;

use common::{fixture, formula};
use kiln::backend::Cpu;
use kiln::model::{Arch, ResNet, ResNetConfig};
use kiln::weights::{SaveDtype, WeightError, WeightFile, load_weights, save_safetensors, save_safetensors_where};

fn fresh(arch: Arch, classes: usize) -> ResNet<Cpu> {
    ResNetConfig::new(arch, classes).init(&Default::default())
}

fn r18_pth() -> std::path::PathBuf {
    fixture("parity/resnet18-c10-f16.pth")
}

fn load_err(arch: Arch, classes: usize, path: &Path) -> String {
    let file = match WeightFile::open(path) {
        Ok(f) => f,
        Err(e) => return e.to_string(),
    };
    match load_weights(fresh(arch, classes), &file) {
        Ok(_) => panic!("loading {} into {arch} should fail", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn other_class_count_resets_the_head_and_says_so() {
    let file = WeightFile::open(r18_pth()).unwrap();
    let (model, report) = load_weights(fresh(Arch::ResNet18, 3), &file).unwrap();
    let why = report.head_reset.expect("head should be reported as reset");
    assert!(why.contains("10 classes") && why.contains('3'), "{why}");
    assert_eq!(model.num_classes(), 3);
    // The backbone still came from the file: every tensor but fc's two.
    assert_eq!(report.loaded, 122 - 20 - 2);
}

#[test]
fn a_backbone_without_classifier_gets_a_fresh_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backbone.safetensors");
    let trained = formula::fill(fresh(Arch::ResNet18, 10));
    save_safetensors_where(&trained, &path, SaveDtype::F32, |n| !n.starts_with("fc.")).unwrap();
    let file = WeightFile::open(&path).unwrap();
    assert!(file.get("fc.weight").is_none() && file.get("layer4.1.bn2.weight").is_some());
    let (model, report) = load_weights(fresh(Arch::ResNet18, 4), &file).unwrap();
    assert!(report.head_reset.unwrap().contains("no classifier"));
    assert_eq!(model.num_classes(), 4);
    assert_eq!(report.loaded, 122 - 20 - 2);
}

#[test]
fn file_of_another_architecture_names_tensor_shapes_and_guess() {
    let err = load_err(Arch::ResNet50, 10, &r18_pth());
    assert!(err.contains("resnet18-c10-f16.pth"), "{err}");
    assert!(err.contains("layer1.0.conv1.weight"), "{err}");
    assert!(
        err.contains("[64, 64, 3, 3]") && err.contains("[64, 64, 1, 1]"),
        "{err}"
    );
    assert!(err.contains("looks like a resnet18"), "{err}");
}

#[test]
fn deeper_file_into_shallower_model_is_caught_by_unexpected_tensors() {
    // resnet34 holds every tensor resnet18 needs with the same shapes, plus more blocks.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r34.safetensors");
    save_safetensors(&fresh(Arch::ResNet34, 10), &path, SaveDtype::F16).unwrap();
    let err = load_err(Arch::ResNet18, 10, &path);
    assert!(err.contains("r34.safetensors") && err.contains("layer1.2."), "{err}");
    assert!(err.contains("looks like a resnet34"), "{err}");
}

#[test]
fn missing_tensor_is_named_with_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.safetensors");
    let full = formula::fill(fresh(Arch::ResNet18, 10));
    save_safetensors(&full, &path, SaveDtype::F32).unwrap();
    // Drop one tensor by rewriting the file without it.
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "layer2.1.bn2.running_var")
        .collect();
    safetensors::serialize_to_file(kept, None, &path).unwrap();
    let err = load_err(Arch::ResNet18, 10, &path);
    assert!(
        err.contains("partial.safetensors") && err.contains("lacks tensor 'layer2.1.bn2.running_var'"),
        "{err}"
    );
    assert!(err.contains("[128]"), "{err}");
}

#[test]
fn truncated_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (name, src) in [
        ("cut.pth", r18_pth()),
        ("cut.safetensors", fixture("parity/formats/small.safetensors")),
    ] {
        let bytes = std::fs::read(&src).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = WeightFile::open(&path).unwrap_err();
        assert!(matches!(err, WeightError::Unreadable { .. }), "{name}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains("truncated"), "{msg}");
    }
}

#[test]
fn a_file_that_is_not_a_state_dict_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.pth");
    std::fs::write(&path, b"these are not weights").unwrap();
    let msg = WeightFile::open(&path).unwrap_err().to_string();
    assert!(msg.contains("notes.pth"), "{msg}");
}

#[test]
fn every_dtype_and_wrapping_reads_exact_values() {
    for name in ["small.pth", "small.safetensors", "wrapped.pth"] {
        let file = WeightFile::open(fixture(&format!("parity/formats/{name}"))).unwrap();
        let get = |t: &str| file.get(t).unwrap_or_else(|| panic!("{name} lacks {t}")).clone();
        let conv = get("conv1.weight");
        assert_eq!(conv.shape, vec![4, 3, 3, 3]);
        assert_eq!(
            conv.values.unwrap(),
            formula::values("conv1.weight", &[4, 3, 3, 3]),
            "{name} f32"
        );
        let f16: Vec<f32> = formula::values("bn1.weight", &[4])
            .iter()
            .map(|v| half::f16::from_f32(*v).to_f32())
            .collect();
        assert_eq!(get("bn1.weight").values.unwrap(), f16, "{name} f16");
        let bf16: Vec<f32> = formula::values("bn1.bias", &[4])
            .iter()
            .map(|v| half::bf16::from_f32(*v).to_f32())
            .collect();
        assert_eq!(get("bn1.bias").values.unwrap(), bf16, "{name} bf16");
        assert!(
            get("bn1.num_batches_tracked").values.is_none(),
            "{name}: counters are not floats"
        );
    }
}

#[test]
fn loading_the_pth_never_runs_its_pickle() {
    // A pickle that would run os.system if unpickled by Python: kiln must only parse it.
    // Protocol 2: GLOBAL 'os system', a string argument, REDUCE, STOP.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let cmd = format!("touch {}", marker.display());
    let mut pickle = b"\x80\x02cos\nsystem\nq\x00X".to_vec();
    pickle.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
    pickle.extend_from_slice(cmd.as_bytes());
    pickle.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    let path = dir.path().join("evil.pth");
    std::fs::write(&path, &pickle).unwrap();
    assert!(WeightFile::open(&path).is_err());
    assert!(!marker.exists(), "the pickle's code ran");
}
