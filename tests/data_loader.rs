//! The threaded loader on the bundled digits.

use std::collections::HashSet;
use std::path::Path;

use kiln::data::{Batch, Layout, Loader, LoaderConfig, Mode, Sample, Transform, TransformConfig, scan_dataset};

fn digits() -> Vec<Sample> {
    let scan = scan_dataset(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/digits")).expect("scan");
    match scan.layout {
        Layout::Unsplit(s) => s,
        Layout::PreSplit { .. } => panic!("digits are unsplit"),
    }
}

fn loader(samples: Vec<Sample>, mode: Mode, seed: u64, cache: bool, workers: usize) -> Loader {
    let cfg = TransformConfig {
        image_size: 32,
        ..TransformConfig::default()
    };
    let transform = Transform::new(cfg, mode, seed).expect("transform");
    let lc = LoaderConfig {
        batch_size: 48,
        workers,
        prefetch: 3,
        shuffle: true,
        drop_last: false,
        cache,
        seed,
    };
    Loader::new(samples, transform, lc).expect("loader")
}

fn run_epoch(l: &Loader, epoch: u64) -> Vec<Batch> {
    l.epoch(epoch).collect()
}

fn order(batches: &[Batch]) -> Vec<usize> {
    batches.iter().flat_map(|b| b.indices.iter().copied()).collect()
}

#[test]
fn every_image_once_per_epoch_in_batches_of_the_right_shape() {
    let samples = digits();
    let l = loader(samples.clone(), Mode::Train, 5, false, 2);
    let batches = run_epoch(&l, 0);
    assert_eq!(batches.len(), l.batches_per_epoch());
    assert_eq!(batches.len(), 1000usize.div_ceil(48));
    let seen = order(&batches);
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen.iter().copied().collect::<HashSet<_>>().len(), 1000);
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(b.index, i, "batches come in order");
        assert_eq!(b.images.len(), b.labels.len() * 3 * 32 * 32);
        assert!(b.skipped.is_empty());
        for (&idx, &label) in b.indices.iter().zip(&b.labels) {
            assert_eq!(samples[idx].label, label);
        }
    }
    assert_eq!(batches.last().map(|b| b.labels.len()), Some(1000 % 48));
}

#[test]
fn shuffle_differs_between_epochs_and_repeats_for_the_same_seed() {
    let l = loader(digits(), Mode::Train, 5, false, 2);
    let e0 = run_epoch(&l, 0);
    let e1 = run_epoch(&l, 1);
    assert_ne!(order(&e0), order(&e1));
    let again = loader(digits(), Mode::Train, 5, false, 1);
    let e0b = run_epoch(&again, 0);
    assert_eq!(order(&e0), order(&e0b));
    // Same seed, different worker count: same images, bit for bit.
    assert!(
        e0.iter()
            .zip(&e0b)
            .all(|(a, b)| a.images == b.images && a.labels == b.labels)
    );
    let other = loader(digits(), Mode::Train, 6, false, 2);
    assert_ne!(order(&e0), order(&run_epoch(&other, 0)));
}

#[test]
fn cache_gives_the_same_batches() {
    let plain = loader(digits(), Mode::Eval, 1, false, 2);
    let cached = loader(digits(), Mode::Eval, 1, true, 2);
    let a = run_epoch(&plain, 3);
    let _warm = run_epoch(&cached, 0);
    let b = run_epoch(&cached, 3);
    assert!(
        a.iter()
            .zip(&b)
            .all(|(x, y)| x.images == y.images && x.indices == y.indices)
    );
}

#[test]
fn corrupt_images_are_skipped_and_reported_in_their_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n not really").expect("write");
    let mut samples: Vec<Sample> = digits().into_iter().take(20).collect();
    samples.push(Sample {
        path: bad.clone(),
        label: 0,
    });
    for cache in [false, true] {
        let l = loader(samples.clone(), Mode::Eval, 0, cache, 2);
        let batches = run_epoch(&l, 0);
        let skipped: Vec<_> = batches.iter().flat_map(|b| b.skipped.iter()).collect();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].path, bad);
        assert_eq!(batches.iter().map(|b| b.labels.len()).sum::<usize>(), 20);
    }
}

#[test]
fn dropping_an_epoch_early_stops_cleanly() {
    let l = loader(digits(), Mode::Train, 2, false, 2);
    let mut it = l.epoch(0);
    let first = it.next().expect("one batch");
    assert_eq!(first.labels.len(), 48);
    drop(it); // must not hang or panic
}
