//! kiln's logits against numbers PyTorch produced (tests/fixtures/parity/make_fixtures.py).

mod common;

use common::{expected_logits, fixture, formula, max_abs_diff};
use kiln::backend::Cpu;
use kiln::model::{Arch, ResNet, ResNetConfig};
use kiln::weights::{SaveDtype, WeightFile, load_weights, save_safetensors};

fn logits(model: &ResNet<Cpu>) -> Vec<Vec<f32>> {
    let input = formula::input::<Cpu>([2, 3, 224, 224], &Default::default());
    let out = model.forward(input);
    let [n, c] = out.dims();
    let values = out.into_data().convert::<f32>().into_vec::<f32>().unwrap();
    (0..n).map(|i| values[i * c..(i + 1) * c].to_vec()).collect()
}

fn fresh(arch: Arch) -> ResNet<Cpu> {
    ResNetConfig::new(arch, 10).init(&Default::default())
}

#[test]
fn resnet18_from_torch_save_pth_matches_pytorch() {
    let file = WeightFile::open(fixture("parity/resnet18-c10-f16.pth")).unwrap();
    let (model, report) = load_weights(fresh(Arch::ResNet18), &file).unwrap();
    assert_eq!(report.head_reset, None);
    let diff = max_abs_diff(&logits(&model), &expected_logits("resnet18_pth"));
    assert!(diff <= 1e-4, "resnet18 logits differ from PyTorch's by {diff}");
}

#[test]
fn resnet18_through_safetensors_f32_matches_pytorch() {
    // .pth -> kiln -> .safetensors -> kiln: the exported file must carry the same numbers.
    let file = WeightFile::open(fixture("parity/resnet18-c10-f16.pth")).unwrap();
    let (model, _) = load_weights(fresh(Arch::ResNet18), &file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r18.safetensors");
    save_safetensors(&model, &path, SaveDtype::F32).unwrap();
    let (reloaded, _) = load_weights(fresh(Arch::ResNet18), &WeightFile::open(&path).unwrap()).unwrap();
    let diff = max_abs_diff(&logits(&reloaded), &expected_logits("resnet18_pth"));
    assert!(diff <= 1e-4, "resnet18 via safetensors differs from PyTorch by {diff}");
}

#[test]
fn resnet50_formula_weights_match_pytorch() {
    let model = formula::fill(fresh(Arch::ResNet50));
    let diff = max_abs_diff(&logits(&model), &expected_logits("resnet50_formula"));
    assert!(diff <= 1e-4, "resnet50 logits differ from PyTorch's by {diff}");
}

#[test]
fn resnet50_f32_and_f16_safetensors_match_pytorch() {
    let model = formula::fill(fresh(Arch::ResNet50));
    let dir = tempfile::tempdir().unwrap();
    let expected = expected_logits("resnet50_formula");
    for (dtype, bound) in [(SaveDtype::F32, 1e-4), (SaveDtype::F16, 5e-2)] {
        let path = dir.path().join(format!("r50-{dtype:?}.safetensors"));
        save_safetensors(&model, &path, dtype).unwrap();
        let (loaded, _) = load_weights(fresh(Arch::ResNet50), &WeightFile::open(&path).unwrap()).unwrap();
        let diff = max_abs_diff(&logits(&loaded), &expected);
        assert!(
            diff <= bound,
            "{dtype:?} logits differ from PyTorch's by {diff} (bound {bound})"
        );
    }
}

/// On demand: `cargo test --release --test parity -- --ignored` (see tests/fixtures/parity/README.md).
#[test]
#[ignore = "resnet152 is slow on CPU; run on demand"]
fn resnet152_formula_weights_match_pytorch() {
    let model = formula::fill(fresh(Arch::ResNet152));
    let diff = max_abs_diff(&logits(&model), &expected_logits("resnet152_formula"));
    assert!(diff <= 1e-4, "resnet152 logits differ from PyTorch's by {diff}");
}
