//! Loader throughput: images per second through decode + eval/train transform at 224 px, on one
//! thread (the per-core figure to hold against `scripts/data_bench.py`) and through the threaded
//! loader with every core.
//!
//! cargo bench --bench data_loader -- [IMAGE_FOLDER] [--size 224] [--repeat 3] [--workers N]
//!
//! IMAGE_FOLDER holds class folders (default: assets/fashion). Throughput figures live in
//! BENCHMARKS.md, never in timed test assertions.

use std::path::PathBuf;
use std::time::Instant;

use kiln::data::{Layout, Loader, LoaderConfig, Mode, Sample, Transform, TransformConfig, load_rgb, scan_dataset};

struct Args {
    dir: PathBuf,
    size: u32,
    repeat: usize,
    /// Loader workers; 0 = every core.
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/fashion"),
        size: 224,
        repeat: 3,
        workers: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            // cargo passes --bench to harness=false benches.
            "--bench" => {}
            "--size" => args.size = number(it.next(), "--size")?,
            "--repeat" => args.repeat = number(it.next(), "--repeat")?,
            "--workers" => args.workers = number(it.next(), "--workers")?,
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            dir => args.dir = PathBuf::from(dir),
        }
    }
    Ok(args)
}

fn number<T: std::str::FromStr>(v: Option<String>, name: &str) -> Result<T, String> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{name} needs a number"))
}

fn samples(args: &Args) -> Result<Vec<Sample>, String> {
    let scan = scan_dataset(&args.dir).map_err(|e| e.to_string())?;
    Ok(match scan.layout {
        Layout::Unsplit(s) => s,
        Layout::PreSplit { train, .. } => train,
    })
}

/// Decode + transform on the calling thread, image after image: the per-core figure.
fn single_thread(samples: &[Sample], t: &Transform, repeat: usize) -> f64 {
    let mut out = vec![0f32; t.config().tensor_len()];
    let mut best = f64::MAX;
    for r in 0..repeat {
        let start = Instant::now();
        for (i, s) in samples.iter().enumerate() {
            if let Ok(img) = load_rgb(&s.path) {
                t.apply(img, r as u64, i as u64, &mut out);
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    samples.len() as f64 / best
}

/// The threaded loader, batches of 32, every core; returns images/s and the consumer's total wait.
fn loader(samples: &[Sample], t: &Transform, workers: usize, repeat: usize) -> Result<(f64, f64), String> {
    let cfg = LoaderConfig {
        batch_size: 32,
        workers,
        ..LoaderConfig::default()
    };
    let l = Loader::new(samples.to_vec(), t.clone(), cfg).map_err(|e| e.to_string())?;
    let mut best = (f64::MAX, 0.0);
    for epoch in 0..repeat {
        let start = Instant::now();
        let mut wait = 0.0;
        let mut n = 0;
        for b in l.epoch(epoch as u64) {
            wait += b.wait.as_secs_f64();
            n += b.labels.len();
        }
        let secs = start.elapsed().as_secs_f64();
        if secs < best.0 {
            best = (secs, wait);
        }
        if n != samples.len() {
            return Err(format!("loader delivered {n} of {} images", samples.len()));
        }
    }
    Ok((samples.len() as f64 / best.0, best.1))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "{e}\nusage: cargo bench --bench data_loader -- [IMAGE_FOLDER] [--size 224] [--repeat 3] [--workers N]"
            );
            std::process::exit(2);
        }
    };
    let samples = match samples(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = if args.workers == 0 { cores } else { args.workers };
    let first = samples.first().and_then(|s| load_rgb(&s.path).ok());
    let dims = first.map_or("?".into(), |i| format!("{}x{}", i.width(), i.height()));
    println!(
        "{} images from {} (first is {dims}), output {} px, best of {}, {cores} cores",
        samples.len(),
        args.dir.display(),
        args.size,
        args.repeat
    );
    for mode in [Mode::Eval, Mode::Train] {
        let cfg = TransformConfig {
            image_size: args.size,
            ..TransformConfig::default()
        };
        let t = match Transform::new(cfg, mode, 0) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        };
        let one = single_thread(&samples, &t, args.repeat);
        println!("kiln {mode:?}: 1 thread {one:8.0} img/s");
        match loader(&samples, &t, workers, args.repeat) {
            Ok((rate, wait)) => println!(
                "kiln {mode:?}: loader, {workers} workers {rate:8.0} img/s ({:.0} img/s per worker), consumer waited {wait:.2} s",
                rate / workers as f64
            ),
            Err(e) => eprintln!("kiln {mode:?}: loader failed: {e}"),
        }
    }
}
