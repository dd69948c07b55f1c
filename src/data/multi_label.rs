//! Multi-label data: a CSV names each image and its labels (`path,labels`, labels separated by
//! `;`, none at all allowed). Paths are relative to the data root. The CSV, not the folder
//! layout, is the data set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::DataError;
use super::scan::Sample;
use super::split::{Split, SplitRatios, stratified_split};

/// Every image's label set, by path.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiLabels {
    /// Sorted label names; label sets index this list.
    pub classes: Vec<String>,
    sets: BTreeMap<PathBuf, Vec<usize>>,
}

impl MultiLabels {
    /// Reads `csv`; each image path is joined to `root` and must exist.
    pub fn read(csv: &Path, root: &Path) -> Result<MultiLabels, DataError> {
        let bad = |line: u64, reason: String| DataError::LabelCsv {
            path: csv.to_path_buf(),
            line,
            reason,
        };
        if !csv.is_file() {
            return Err(DataError::MissingLabelCsv(csv.to_path_buf()));
        }
        let mut reader = csv::Reader::from_path(csv).map_err(|e| bad(0, e.to_string()))?;
        let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        if headers.iter().collect::<Vec<_>>() != ["path", "labels"] {
            return Err(bad(1, "the header must be `path,labels`".into()));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = record.position().map_or(0, |p| p.line());
            let path = root.join(&record[0]);
            if !path.is_file() {
                return Err(bad(line, format!("image {} does not exist", path.display())));
            }
            let labels: BTreeSet<String> = record[1]
                .split(';')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            rows.push((line, path, labels));
        }
        if rows.is_empty() {
            return Err(bad(0, "it lists no images".into()));
        }
        let classes: Vec<String> = rows
            .iter()
            .flat_map(|(_, _, l)| l.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if classes.len() < 2 {
            return Err(bad(
                0,
                format!(
                    "it names {} label(s); multi-label training needs at least two",
                    classes.len()
                ),
            ));
        }
        let mut sets = BTreeMap::new();
        for (line, path, labels) in rows {
            // `classes` is sorted and holds every label.
            let set = labels.iter().filter_map(|l| classes.binary_search(l).ok()).collect();
            if sets.insert(path.clone(), set).is_some() {
                return Err(bad(line, format!("{} is listed twice", path.display())));
            }
        }
        Ok(MultiLabels { classes, sets })
    }

    /// The label set of an image, if the CSV lists it.
    pub fn labels_of(&self, path: &Path) -> Option<&[usize]> {
        self.sets.get(path).map(Vec::as_slice)
    }

    /// Splits the images by `ratios` and `seed`, stratified by each image's first label (images
    /// without labels form a stratum of their own). `Sample::label` is that first label.
    pub fn split(&self, ratios: SplitRatios, seed: u64) -> Result<Split, DataError> {
        let samples = self.samples();
        let [train, val, test] = stratified_split(&samples, self.classes.len() + 1, ratios, seed)?;
        Ok(Split {
            classes: self.classes.clone(),
            train,
            val,
            test,
        })
    }

    /// A split read back from a manifest, with this CSV's labels: every image must be in it.
    pub fn relabel(&self, split: Split, manifest: &Path) -> Result<Split, DataError> {
        let relabel = |samples: Vec<Sample>| -> Result<Vec<Sample>, DataError> {
            samples
                .into_iter()
                .map(|s| match self.labels_of(&s.path) {
                    Some(set) => Ok(Sample {
                        label: self.stratum(set),
                        path: s.path,
                    }),
                    None => Err(DataError::Manifest {
                        path: manifest.to_path_buf(),
                        line: 0,
                        reason: format!("{} is not in the label CSV any more", s.path.display()),
                    }),
                })
                .collect()
        };
        Ok(Split {
            classes: self.classes.clone(),
            train: relabel(split.train)?,
            val: relabel(split.val)?,
            test: relabel(split.test)?,
        })
    }

    /// Every image in the CSV, in path order (`Sample::label` as in [`MultiLabels::split`]).
    pub fn samples(&self) -> Vec<Sample> {
        self.sets
            .iter()
            .map(|(path, set)| Sample {
                path: path.clone(),
                label: self.stratum(set),
            })
            .collect()
    }

    /// The same label sets, indexed into `classes` (a model's labels, of which this CSV may use
    /// only some). Errs with the labels `classes` lacks.
    pub fn in_classes(self, classes: &[String]) -> Result<MultiLabels, Vec<String>> {
        let unknown: Vec<String> = self.classes.iter().filter(|c| !classes.contains(c)).cloned().collect();
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let index = |own: usize| classes.iter().position(|c| *c == self.classes[own]).unwrap_or(0);
        let sets = self
            .sets
            .iter()
            .map(|(path, set)| {
                let mut set: Vec<usize> = set.iter().map(|&c| index(c)).collect();
                set.sort_unstable();
                (path.clone(), set)
            })
            .collect();
        Ok(MultiLabels {
            classes: classes.to_vec(),
            sets,
        })
    }

    /// The `Sample::label` of an image with these labels: its first label, or one past the last
    /// label for an image with none.
    fn stratum(&self, set: &[usize]) -> usize {
        set.first().copied().unwrap_or(self.classes.len())
    }

    /// Multi-hot rows `[paths.len(), classes]`, row-major; an unknown path gets no labels.
    pub fn multi_hot<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Vec<f32> {
        let mut out = Vec::new();
        for path in paths {
            let start = out.len();
            out.resize(start + self.classes.len(), 0.0);
            for &c in self.labels_of(path).unwrap_or(&[]) {
                out[start + c] = 1.0;
            }
        }
        out
    }

    /// Images carrying each label, over `samples`.
    pub fn label_counts(&self, samples: &[Sample]) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for s in samples {
            for &c in self.labels_of(&s.path).unwrap_or(&[]) {
                counts[c] += 1;
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, csv: &str, images: &[&str]) -> PathBuf {
        for name in images {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let path = dir.join("labels.csv");
        std::fs::write(&path, csv).unwrap();
        path
    }

    #[test]
    fn labels_are_reindexed_into_a_models_labels_and_unknown_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(
            dir.path(),
            "path,labels\na.png,round;even\nb.png,\n",
            &["a.png", "b.png"],
        );
        let m = MultiLabels::read(&csv, dir.path()).unwrap();
        let model: Vec<String> = ["even", "odd", "prime", "round"].map(String::from).to_vec();
        let mapped = m.clone().in_classes(&model).unwrap();
        assert_eq!(mapped.classes, model);
        assert_eq!(mapped.labels_of(&dir.path().join("a.png")), Some(&[0, 3][..]));
        // An image without labels is its own stratum, one past the model's labels.
        let labels: Vec<usize> = mapped.samples().iter().map(|s| s.label).collect();
        assert_eq!(labels, [0, 4]);
        let short: Vec<String> = ["even", "odd"].map(String::from).to_vec();
        assert_eq!(m.in_classes(&short).unwrap_err(), ["round"]);
    }

    #[test]
    fn labels_are_read_sorted_and_turned_into_multi_hot_rows() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(
            dir.path(),
            "path,labels\na.png,round;even\nb/c.png,odd\nd.png,\n",
            &["a.png", "b/c.png", "d.png"],
        );
        let m = MultiLabels::read(&csv, dir.path()).unwrap();
        assert_eq!(m.classes, ["even", "odd", "round"]);
        assert_eq!(m.labels_of(&dir.path().join("a.png")), Some(&[0, 2][..]));
        let rows = m.multi_hot(
            [dir.path().join("d.png"), dir.path().join("a.png")]
                .iter()
                .map(PathBuf::as_path),
        );
        assert_eq!(rows, [0.0, 0.0, 0.0, 1.0, 0.0, 1.0]);
        let split = m.split(SplitRatios::default(), 1).unwrap();
        let all = split.train.len() + split.val.len() + split.test.len();
        assert_eq!(all, 3, "unlabelled images are split too");
    }

    #[test]
    fn a_missing_image_or_a_bad_header_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write(dir.path(), "path,labels\na.png,x\nmissing.png,y\n", &["a.png"]);
        let e = MultiLabels::read(&csv, dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("missing.png") && e.contains("does not exist"),
            "{e}"
        );
        let csv = write(dir.path(), "file,tags\na.png,x\n", &[]);
        let e = MultiLabels::read(&csv, dir.path()).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("path,labels"), "{e}");
        let e = MultiLabels::read(&dir.path().join("nope.csv"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nope.csv does not exist") && e.contains("data.multi_label_csv"),
            "{e}"
        );
    }
}
