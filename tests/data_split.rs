//! Stratified split on the bundled digits, and the split manifest.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kiln::data::{Layout, Part, Sample, Split, SplitRatios, scan_dataset, split_counts, stratified_split};

fn digits_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/digits")
}

fn split(seed: u64, ratios: SplitRatios) -> Split {
    let scan = scan_dataset(&digits_root()).expect("scan digits");
    Split::from_scan(scan, ratios, seed).expect("split")
}

fn paths(s: &[Sample]) -> HashSet<PathBuf> {
    s.iter().map(|x| x.path.clone()).collect()
}

fn assert_stratified(parts: &[Vec<Sample>; 3], num_classes: usize) {
    let count = |p: &[Sample], c: usize| p.iter().filter(|s| s.label == c).count();
    for c in 0..num_classes {
        let got = parts.each_ref().map(|p| count(p, c));
        let n = got.iter().sum::<usize>() as f64;
        assert!(n > 0.0, "class {c} vanished");
        for (g, share) in got.iter().zip([0.7, 0.1, 0.2]) {
            assert!((*g as f64 - n * share).abs() <= 1.0, "class {c}: {got:?} of {n}");
        }
    }
}

#[test]
fn split_is_stratified_within_one_image_of_7_1_2() {
    let s = split(42, SplitRatios::default());
    assert_stratified(&[s.train.clone(), s.val.clone(), s.test.clone()], 10);
    assert_eq!(s.class_counts(Part::Val), vec![10; 10]);
}

#[test]
fn uneven_classes_are_stratified_too() {
    // Real digits, but class c keeps only 13 + 9c images, so shares do not divide evenly.
    let scan = scan_dataset(&digits_root()).expect("scan");
    let Layout::Unsplit(all) = scan.layout else {
        panic!("unsplit")
    };
    let mut kept = Vec::new();
    for c in 0..10 {
        kept.extend(all.iter().filter(|s| s.label == c).take(13 + 9 * c).cloned());
    }
    for seed in 0..5 {
        let parts = stratified_split(&kept, 10, SplitRatios::default(), seed).expect("split");
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), kept.len());
        assert_stratified(&parts, 10);
    }
}

#[test]
fn odd_class_sizes_stay_within_one_image() {
    for n in 0..200usize {
        for ratios in [
            SplitRatios::default(),
            SplitRatios {
                train: 0.6,
                val: 0.25,
                test: 0.15,
            },
            SplitRatios {
                train: 1.0,
                val: 1.0,
                test: 1.0,
            },
        ] {
            let counts = split_counts(n, ratios).expect("counts");
            assert_eq!(counts.iter().sum::<usize>(), n);
            let total = ratios.train + ratios.val + ratios.test;
            for (c, r) in counts.iter().zip([ratios.train, ratios.val, ratios.test]) {
                assert!(
                    (*c as f64 - n as f64 * r / total).abs() < 1.0,
                    "n {n} {ratios:?} -> {counts:?}"
                );
            }
        }
    }
}

#[test]
fn split_is_disjoint_and_complete() {
    let s = split(7, SplitRatios::default());
    let (tr, va, te) = (paths(&s.train), paths(&s.val), paths(&s.test));
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    assert_eq!(tr.len() + va.len() + te.len(), 1000);
    assert_eq!(s.train.len() + s.val.len() + s.test.len(), 1000, "no duplicates");
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let a = split(1, SplitRatios::default());
    let b = split(1, SplitRatios::default());
    let c = split(2, SplitRatios::default());
    assert_eq!(a, b);
    assert_ne!(paths(&a.val), paths(&c.val));
    assert_ne!(paths(&a.test), paths(&c.test));
}

#[test]
fn manifest_round_trips_and_uses_relative_paths() {
    let s = split(3, SplitRatios::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("split.csv");
    s.write_manifest(&manifest, &digits_root()).expect("write manifest");
    let text = std::fs::read_to_string(&manifest).expect("read manifest");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("path,class,split"));
    assert!(text.contains("\n0/"), "paths relative to the root");
    assert_eq!(text.lines().count(), 1001);
    let back = Split::read_manifest(&manifest, &digits_root()).expect("read back");
    assert_eq!(back, s);
}

#[test]
fn manifest_errors_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("split.csv");
    std::fs::write(&manifest, "path,class,split\na.png,cat,train\nb.png,dog,holdout\n").expect("write");
    let err = Split::read_manifest(&manifest, dir.path()).expect_err("bad split value");
    let msg = err.to_string();
    assert!(msg.contains("line 3") && msg.contains("holdout"), "{msg}");
}

#[test]
fn bad_ratios_are_rejected() {
    let scan = scan_dataset(&digits_root()).expect("scan");
    let bad = SplitRatios {
        train: 0.0,
        val: 1.0,
        test: 1.0,
    };
    assert!(Split::from_scan(scan, bad, 0).is_err());
}
