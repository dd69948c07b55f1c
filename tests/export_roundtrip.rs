//! A fine-tuned model exported as safetensors with torchvision names comes back unchanged.

mod common;

use burn::module::{Param, RunningState};
use burn::prelude::*;
use common::formula;
use kiln::backend::Cpu;
use kiln::model::{Arch, ResNet, ResNetConfig, TensorVisitor};
use kiln::weights::{SaveDtype, WeightFile, load_weights, save_safetensors};

#[derive(Default)]
struct Dump(Vec<(String, Vec<f32>)>);

impl<B: Backend> TensorVisitor<B> for Dump {
    fn param<const D: usize>(&mut self, name: &str, p: &mut Param<Tensor<B, D>>, _: bool) {
        self.0
            .push((name.into(), p.val().into_data().convert::<f32>().into_vec().unwrap()));
    }
    fn buffer(&mut self, name: &str, b: &mut RunningState<Tensor<B, 1>>) {
        self.0
            .push((name.into(), b.value().into_data().convert::<f32>().into_vec().unwrap()));
    }
}

fn dump(model: &ResNet<Cpu>) -> Vec<(String, Vec<f32>)> {
    let mut d = Dump::default();
    model.clone().walk_tensors(&mut d);
    d.0
}

#[test]
fn f32_export_round_trips_bit_exactly() {
    let model = formula::fill(ResNetConfig::new(Arch::ResNet50, 7).init::<Cpu>(&Default::default()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("finetuned.safetensors");
    save_safetensors(&model, &path, SaveDtype::F32).unwrap();

    let file = WeightFile::open(&path).unwrap();
    // torchvision's strict load_state_dict wants every key, counters included.
    assert_eq!(file.len(), 320);
    assert_eq!(file.get("fc.weight").unwrap().shape, vec![7, 2048]);
    assert_eq!(file.get("layer3.5.bn2.num_batches_tracked").unwrap().dtype, "i64");

    let fresh = ResNetConfig::new(Arch::ResNet50, 7).init::<Cpu>(&Default::default());
    let (loaded, report) = load_weights(fresh, &file).unwrap();
    assert_eq!(report.loaded, 320 - 53);
    assert_eq!(dump(&loaded), dump(&model));
}

#[test]
fn half_precision_exports_are_rounded_not_garbled() {
    let model = formula::fill(ResNetConfig::new(Arch::ResNet18, 5).init::<Cpu>(&Default::default()));
    let dir = tempfile::tempdir().unwrap();
    for dtype in [SaveDtype::F16, SaveDtype::BF16] {
        let path = dir.path().join(format!("m-{dtype:?}.safetensors"));
        save_safetensors(&model, &path, dtype).unwrap();
        let fresh = ResNetConfig::new(Arch::ResNet18, 5).init::<Cpu>(&Default::default());
        let (loaded, _) = load_weights(fresh, &WeightFile::open(&path).unwrap()).unwrap();
        let tolerance = if dtype == SaveDtype::F16 { 1e-3 } else { 8e-3 };
        for ((name, a), (_, b)) in dump(&model).iter().zip(dump(&loaded).iter()) {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= tolerance * x.abs().max(1e-2),
                    "{dtype:?} {name}: {x} vs {y}"
                );
            }
        }
    }
}
