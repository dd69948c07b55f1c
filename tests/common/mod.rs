//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod formula;

use std::path::PathBuf;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The logits PyTorch produced, from tests/fixtures/parity/expected.json.
pub fn expected_logits(key: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(fixture("parity/expected.json")).expect("expected.json is committed");
    let json: serde_json::Value = serde_json::from_str(&text).expect("expected.json parses");
    serde_json::from_value(json[key].clone()).unwrap_or_else(|e| panic!("expected.json lacks {key}: {e}"))
}

/// Largest absolute difference between two logit tables.
pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "batch sizes differ");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "class counts differ");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}
