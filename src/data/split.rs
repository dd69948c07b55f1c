//! Stratified train/val/test split (default 7:1:2) and the `split.csv` manifest that lets a run
//! be reproduced exactly.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rand::seq::SliceRandom;
use serde::Deserialize;

use super::DataError;
use super::rng::{self, seeded_rng};
use super::scan::{Layout, Sample, Scan};

/// Relative shares of train, val and test; they need not sum to 1.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRatios {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        // The recipe's 7:1:2.
        SplitRatios {
            train: 7.0,
            val: 1.0,
            test: 2.0,
        }
    }
}

impl SplitRatios {
    fn validate(&self) -> Result<[f64; 3], DataError> {
        let r = [self.train, self.val, self.test];
        if r.iter().any(|x| !x.is_finite() || *x < 0.0) || self.train <= 0.0 {
            return Err(DataError::BadRatios(r));
        }
        let sum: f64 = r.iter().sum();
        Ok(r.map(|x| x / sum))
    }
}

/// Which part of the split a sample belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Train,
    Val,
    Test,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Part> {
        match s {
            "train" => Some(Part::Train),
            "val" => Some(Part::Val),
            "test" => Some(Part::Test),
            _ => None,
        }
    }
}

/// The data set as the trainer sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Sorted class names; `Sample::label` indexes this list.
    pub classes: Vec<String>,
    pub train: Vec<Sample>,
    pub val: Vec<Sample>,
    pub test: Vec<Sample>,
}

/// How many of `n` images go to train, val and test: the largest-remainder method, so each count
/// is within one image of its exact share and the three add up to `n`.
pub fn split_counts(n: usize, ratios: SplitRatios) -> Result<[usize; 3], DataError> {
    let shares = ratios.validate()?;
    let exact = shares.map(|s| s * n as f64);
    let mut counts = exact.map(|x| x.floor() as usize);
    let mut left = n - counts.iter().sum::<usize>();
    // Hand the leftover images to the largest fractional parts; ties go to train, then val.
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    Ok(counts)
}

/// Splits each class separately (stratified) after a seeded shuffle of that class's images.
/// Each class's shuffle is seeded from `(seed, class index)`, so adding a class leaves the
/// other classes' splits unchanged.
pub fn stratified_split(
    samples: &[Sample],
    num_classes: usize,
    ratios: SplitRatios,
    seed: u64,
) -> Result<[Vec<Sample>; 3], DataError> {
    let mut by_class: Vec<Vec<Sample>> = vec![Vec::new(); num_classes];
    for s in samples {
        if let Some(bucket) = by_class.get_mut(s.label) {
            bucket.push(s.clone());
        }
    }
    let mut parts: [Vec<Sample>; 3] = Default::default();
    for (label, mut class_samples) in by_class.into_iter().enumerate() {
        // Sort first so the result does not depend on the order the caller passed.
        class_samples.sort_by(|a, b| a.path.cmp(&b.path));
        class_samples.shuffle(&mut seeded_rng(&[seed, rng::SPLIT, label as u64]));
        let [n_train, n_val, _] = split_counts(class_samples.len(), ratios)?;
        let mut rest = class_samples.split_off(n_train);
        let test = rest.split_off(n_val);
        parts[0].extend(class_samples);
        parts[1].extend(rest);
        parts[2].extend(test);
    }
    for p in &mut parts {
        p.sort_by(|a, b| a.label.cmp(&b.label).then_with(|| a.path.cmp(&b.path)));
    }
    Ok(parts)
}

impl Split {
    /// Splits an unsplit scan by `ratios` and `seed`; a pre-split scan is used as it is.
    pub fn from_scan(scan: Scan, ratios: SplitRatios, seed: u64) -> Result<Split, DataError> {
        match scan.layout {
            Layout::Unsplit(samples) => {
                let [train, val, test] = stratified_split(&samples, scan.classes.len(), ratios, seed)?;
                Ok(Split {
                    classes: scan.classes,
                    train,
                    val,
                    test,
                })
            }
            Layout::PreSplit { train, val, test } => Ok(Split {
                classes: scan.classes,
                train,
                val,
                test,
            }),
        }
    }

    pub fn part(&self, part: Part) -> &[Sample] {
        match part {
            Part::Train => &self.train,
            Part::Val => &self.val,
            Part::Test => &self.test,
        }
    }

    /// Images per class in one part (for the imbalance report).
    pub fn class_counts(&self, part: Part) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in self.part(part) {
            if let Some(c) = counts.get_mut(s.label) {
                *c += 1;
            }
        }
        counts
    }

    /// Writes `path,class,split` rows. Paths under `root` are written relative to it with `/`
    /// separators, so the manifest still works when the data folder moves.
    pub fn write_manifest(&self, manifest: &Path, root: &Path) -> Result<(), DataError> {
        let csv_err = |e: csv::Error| DataError::ManifestWrite {
            path: manifest.to_path_buf(),
            reason: e.to_string(),
        };
        let mut w = csv::Writer::from_path(manifest).map_err(csv_err)?;
        w.write_record(["path", "class", "split"]).map_err(csv_err)?;
        for part in [Part::Train, Part::Val, Part::Test] {
            for s in self.part(part) {
                let rel = manifest_path(&s.path, root).ok_or_else(|| DataError::ManifestWrite {
                    path: manifest.to_path_buf(),
                    reason: format!("image path {} is not valid UTF-8", s.path.display()),
                })?;
                // Multi-label splits write the first label; "-" marks an image with none.
                let class = self.classes.get(s.label).map(String::as_str).unwrap_or("-");
                w.write_record([rel.as_str(), class, part.as_str()]).map_err(csv_err)?;
            }
        }
        w.flush().map_err(|e| DataError::io(manifest, e))
    }

    /// Reads a manifest written by `write_manifest`; relative paths are resolved against `root`.
    /// Classes are the sorted class names found in the manifest.
    pub fn read_manifest(manifest: &Path, root: &Path) -> Result<Split, DataError> {
        let bad = |line: u64, reason: String| DataError::Manifest {
            path: manifest.to_path_buf(),
            line,
            reason,
        };
        let mut r = csv::Reader::from_path(manifest).map_err(|e| bad(0, e.to_string()))?;
        let headers = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        if headers.iter().collect::<Vec<_>>() != ["path", "class", "split"] {
            return Err(bad(1, "header must be `path,class,split`".into()));
        }
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                bad(line, e.to_string())
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let (path, class, split) = (&rec[0], &rec[1], &rec[2]);
            let part = Part::parse(split)
                .ok_or_else(|| bad(line, format!("split `{split}` is not one of train, val, test")))?;
            if class.is_empty() {
                return Err(bad(line, "empty class name".into()));
            }
            let full = root.join(path);
            if !seen.insert(full.clone()) {
                return Err(bad(line, format!("{path} is listed twice")));
            }
            rows.push((full, class.to_string(), part));
        }
        if rows.is_empty() {
            return Err(bad(0, "the manifest lists no images".into()));
        }
        let class_index: BTreeMap<String, usize> = rows
            .iter()
            .map(|(_, c, _)| c.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        let mut split = Split {
            classes: class_index.keys().cloned().collect(),
            train: Vec::new(),
            val: Vec::new(),
            test: Vec::new(),
        };
        for (path, class, part) in rows {
            let label = class_index.get(&class).copied().unwrap_or(0);
            let sample = Sample { path, label };
            match part {
                Part::Train => split.train.push(sample),
                Part::Val => split.val.push(sample),
                Part::Test => split.test.push(sample),
            }
        }
        Ok(split)
    }
}

/// `path` relative to `root` with `/` separators when it lies under `root`, else as given.
fn manifest_path(path: &Path, root: &Path) -> Option<String> {
    let rel: PathBuf = match path.strip_prefix(root) {
        Ok(r) => r.to_path_buf(),
        Err(_) => return path.to_str().map(str::to_string),
    };
    let parts: Option<Vec<&str>> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    parts.map(|p| p.join("/"))
}
