//! The threaded loader: worker threads decode and transform whole batches while the trainer
//! works on earlier ones. Batches come out in order, as plain `Vec<f32>` (N x 3 x S x S) and
//! `Vec<usize>` labels, so this file knows nothing about Burn; the trainer converts.
//!
//! Flow control: the consumer hands out batch jobs, at most `prefetch` ahead of the batch it is
//! waiting for, so memory stays bounded however slow the trainer is. Workers send finished
//! batches back; the consumer reorders them.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use image::RgbImage;
use rand::seq::SliceRandom;

use super::DataError;
use super::decode::{Skipped, load_rgb_guarded};
use super::rng::{self, seeded_rng};
use super::scan::Sample;
use super::transform::Transform;

#[derive(Clone, Debug, PartialEq)]
pub struct LoaderConfig {
    pub batch_size: usize,
    /// Decoding threads; 0 = the number of cores.
    pub workers: usize,
    /// Batches in flight ahead of the consumer; 0 = twice the workers.
    pub prefetch: usize,
    /// Shuffle the order every epoch (by `seed` and epoch). Off for val/test.
    pub shuffle: bool,
    /// Drop a last, smaller batch.
    pub drop_last: bool,
    /// Keep decoded, resized images in memory after their first use (small data sets): the
    /// eval crop, image_size^2 x 3 bytes each; with `random_resized_crop` the whole decoded
    /// image, since the crop differs every epoch. Unreadable files are remembered too.
    pub cache: bool,
    pub seed: u64,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        LoaderConfig {
            batch_size: 32,
            workers: 0,
            prefetch: 0,
            shuffle: true,
            drop_last: false,
            cache: false,
            seed: 0,
        }
    }
}

/// One batch, ready for the trainer.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Position of this batch in its epoch.
    pub index: usize,
    /// `labels.len() * 3 * S * S` floats, CHW per image, normalised.
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    /// Index of each image in the loader's sample list.
    pub indices: Vec<usize>,
    /// Images of this batch that failed to decode; the batch is that much shorter.
    pub skipped: Vec<Skipped>,
    /// How long the consumer waited for this batch: near zero when the loader keeps up.
    pub wait: Duration,
}

type CacheSlot = OnceLock<Result<Arc<RgbImage>, String>>;

struct Shared {
    samples: Vec<Sample>,
    transform: Transform,
    cache: Option<Vec<CacheSlot>>,
}

pub struct Loader {
    shared: Arc<Shared>,
    cfg: LoaderConfig,
    workers: usize,
    prefetch: usize,
}

impl Loader {
    pub fn new(samples: Vec<Sample>, transform: Transform, cfg: LoaderConfig) -> Result<Loader, DataError> {
        if cfg.batch_size == 0 {
            return Err(DataError::BadConfig("batch size must be at least 1".into()));
        }
        let workers = if cfg.workers == 0 {
            thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            cfg.workers
        };
        let prefetch = if cfg.prefetch == 0 { 2 * workers } else { cfg.prefetch };
        let cache = cfg.cache.then(|| (0..samples.len()).map(|_| OnceLock::new()).collect());
        Ok(Loader {
            shared: Arc::new(Shared {
                samples,
                transform,
                cache,
            }),
            cfg,
            workers,
            prefetch,
        })
    }

    pub fn samples(&self) -> &[Sample] {
        &self.shared.samples
    }

    pub fn len(&self) -> usize {
        self.shared.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shared.samples.is_empty()
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.len(), self.cfg.batch_size);
        if self.cfg.drop_last { n / b } else { n.div_ceil(b) }
    }

    /// The sample order of `epoch`: shuffled by `(seed, epoch)` or in list order.
    pub fn epoch_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        if self.cfg.shuffle {
            order.shuffle(&mut seeded_rng(&[self.cfg.seed, rng::SHUFFLE, epoch]));
        }
        order
    }

    /// The sample indices of each batch of `epoch`, in order.
    pub fn epoch_batches(&self, epoch: u64) -> Vec<Vec<usize>> {
        self.epoch_order(epoch)
            .chunks(self.cfg.batch_size)
            .filter(|c| !self.cfg.drop_last || c.len() == self.cfg.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    /// Starts the workers for one epoch. Dropping the iterator early stops them.
    pub fn epoch(&self, epoch: u64) -> EpochIter {
        let batches = Arc::new(self.epoch_batches(epoch));
        let (job_tx, job_rx) = channel::<usize>();
        let (res_tx, res_rx) = channel::<Batch>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..self.workers.min(batches.len()))
            .map(|_| {
                let (shared, batches) = (Arc::clone(&self.shared), Arc::clone(&batches));
                let (job_rx, res_tx) = (Arc::clone(&job_rx), res_tx.clone());
                thread::spawn(move || worker(&shared, &batches, epoch, &job_rx, &res_tx))
            })
            .collect();
        let mut it = EpochIter {
            job_tx: Some(job_tx),
            results: res_rx,
            pending: BTreeMap::new(),
            next: 0,
            submitted: 0,
            total: batches.len(),
            prefetch: self.prefetch,
            workers,
        };
        it.submit();
        it
    }
}

fn worker(shared: &Shared, batches: &[Vec<usize>], epoch: u64, jobs: &Mutex<Receiver<usize>>, results: &Sender<Batch>) {
    loop {
        // Hold the lock only to take a job; a poisoned lock means another worker died, and the
        // receiver inside is still fine to use.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(b) = job else { return };
        let Some(indices) = batches.get(b) else {
            return;
        };
        let batch = catch_unwind(AssertUnwindSafe(|| build_batch(shared, b, indices, epoch)))
            .unwrap_or_else(|_| failed_batch(shared, b, indices));
        if results.send(batch).is_err() {
            return;
        }
    }
}

fn build_batch(shared: &Shared, b: usize, indices: &[usize], epoch: u64) -> Batch {
    let t = &shared.transform;
    let len = t.config().tensor_len();
    let mut batch = Batch {
        index: b,
        images: vec![0.0; indices.len() * len],
        labels: Vec::with_capacity(indices.len()),
        indices: Vec::with_capacity(indices.len()),
        skipped: Vec::new(),
        wait: Duration::ZERO,
    };
    for &i in indices {
        let Some(sample) = shared.samples.get(i) else {
            continue;
        };
        let prepared = match &shared.cache {
            Some(cache) => match cache.get(i) {
                Some(slot) => slot
                    .get_or_init(|| load_rgb_guarded(&sample.path).map(|img| Arc::new(t.prepare(img))))
                    .clone(),
                None => continue,
            },
            None => load_rgb_guarded(&sample.path).map(|img| Arc::new(t.prepare(img))),
        };
        match prepared {
            Ok(img) => {
                let at = batch.labels.len() * len;
                t.finish(&img, epoch, i as u64, &mut batch.images[at..at + len]);
                batch.labels.push(sample.label);
                batch.indices.push(i);
            }
            Err(reason) => batch.skipped.push(Skipped {
                path: sample.path.clone(),
                reason,
            }),
        }
    }
    batch.images.truncate(batch.labels.len() * len);
    batch
}

/// What a batch becomes if building it panicked: empty, every image listed as skipped.
fn failed_batch(shared: &Shared, b: usize, indices: &[usize]) -> Batch {
    Batch {
        index: b,
        images: Vec::new(),
        labels: Vec::new(),
        indices: Vec::new(),
        skipped: indices
            .iter()
            .filter_map(|&i| shared.samples.get(i))
            .map(|s| Skipped {
                path: s.path.clone(),
                reason: "internal error while transforming this batch".into(),
            })
            .collect(),
        wait: Duration::ZERO,
    }
}

/// The batches of one epoch, in order.
pub struct EpochIter {
    job_tx: Option<Sender<usize>>,
    results: Receiver<Batch>,
    pending: BTreeMap<usize, Batch>,
    next: usize,
    submitted: usize,
    total: usize,
    prefetch: usize,
    workers: Vec<JoinHandle<()>>,
}

impl EpochIter {
    /// Batches in this epoch.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Keeps `prefetch` batches requested beyond the one being waited for.
    fn submit(&mut self) {
        let limit = (self.next + self.prefetch.max(1)).min(self.total);
        while self.submitted < limit {
            let Some(tx) = &self.job_tx else { return };
            if tx.send(self.submitted).is_err() {
                return;
            }
            self.submitted += 1;
        }
    }
}

impl Iterator for EpochIter {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.total {
            self.job_tx = None;
            return None;
        }
        let start = Instant::now();
        let mut batch = loop {
            if let Some(b) = self.pending.remove(&self.next) {
                break b;
            }
            match self.results.recv() {
                Ok(b) => {
                    self.pending.insert(b.index, b);
                }
                // Every worker is gone (only if one died outside `catch_unwind`): end the epoch.
                Err(_) => return None,
            }
        };
        batch.wait = start.elapsed();
        self.next += 1;
        self.submit();
        Some(batch)
    }
}

impl Drop for EpochIter {
    fn drop(&mut self) {
        // Closing the job channel lets idle workers exit; busy ones finish their batch first.
        self.job_tx = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
