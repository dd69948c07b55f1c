//! The labelled images an evaluation runs over, each label an index into the model's classes
//! (matched by name): a folder of class folders, a label CSV, or a part of a run's split.

use std::path::Path;

use anyhow::Context;

use crate::data::{MultiLabels, Part, Sample, Split, class_folder_images, ignored_warning, is_image_path};

/// Images, their labels in the model's classes, and what was left out on the way.
#[derive(Debug)]
pub struct Labelled {
    pub samples: Vec<Sample>,
    /// A multi-label evaluation's label sets (in the model's classes).
    pub multi: Option<MultiLabels>,
    /// Said before the results: files that are not images, class folders without images.
    pub notes: Vec<String>,
}

/// A folder with one sub-folder per class, each named as one of `classes` (a subset will do).
pub fn from_folder(dir: &Path, classes: &[String]) -> anyhow::Result<Labelled> {
    // Before the scan: a pre-split root would be walked whole only to be refused.
    if dir.join("train").is_dir() && dir.join("val").is_dir() {
        anyhow::bail!(
            "{} is split into train/ and val/ folders; give the folder of class folders to evaluate, e.g. {}",
            dir.display(),
            dir.join("test").display()
        );
    }
    let (folders, ignored) = class_folder_images(dir)?;
    let unknown: Vec<&str> = folders
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !classes.iter().any(|c| c == name))
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "{}: {} {} not one of the model's {} classes ({}); each sub-folder must be named as the class of \
             the images in it: rename or move {}",
            dir.display(),
            plural(unknown.len(), "folder", "folders"),
            are(&unknown),
            classes.len(),
            named(classes),
            if unknown.len() == 1 { "it" } else { "them" }
        );
    }
    let mut samples = Vec::new();
    let mut empty = Vec::new();
    for (name, files) in folders {
        let label = classes.iter().position(|c| *c == name).unwrap_or(0);
        if files.is_empty() {
            empty.push(name.clone());
        }
        samples.extend(files.into_iter().map(|path| Sample { path, label }));
    }
    if samples.is_empty() {
        anyhow::bail!(
            "{} holds no images in class folders{}; evaluation needs one sub-folder per class, named as the \
             model's classes ({}), e.g. {} for images of {:?}; images without labels are for kiln predict",
            dir.display(),
            if has_loose_images(dir) {
                " (its images lie directly in it)"
            } else {
                ""
            },
            named(classes),
            dir.join(&classes[0]).display(),
            classes[0]
        );
    }
    let mut notes: Vec<String> = ignored_warning(dir, &ignored).into_iter().collect();
    if !empty.is_empty() {
        notes.push(format!(
            "{} without images: {}",
            plural(empty.len(), "class folder", "class folders"),
            quoted(&empty.iter().map(String::as_str).collect::<Vec<_>>())
        ));
    }
    Ok(Labelled {
        samples,
        multi: None,
        notes,
    })
}

/// A multi-label CSV (`path,labels`, paths relative to `root`) whose labels are among `classes`.
pub fn from_csv(csv: &Path, root: &Path, classes: &[String]) -> anyhow::Result<Labelled> {
    let labels = labels_in(csv, root, classes)?;
    Ok(Labelled {
        samples: labels.samples(),
        multi: Some(labels),
        notes: Vec::new(),
    })
}

/// The CSV's label sets, indexed into `classes`, whose labels it must not go beyond.
fn labels_in(csv: &Path, root: &Path, classes: &[String]) -> anyhow::Result<MultiLabels> {
    MultiLabels::read(csv, root)?.in_classes(classes).map_err(|unknown| {
        anyhow::anyhow!(
            "{}: {} {} not among the model's {} labels ({}); leave out the rows that carry {}, or evaluate \
             a model trained with {}",
            csv.display(),
            plural(unknown.len(), "label", "labels"),
            are(&unknown.iter().map(String::as_str).collect::<Vec<_>>()),
            classes.len(),
            named(classes),
            if unknown.len() == 1 { "it" } else { "them" },
            if unknown.len() == 1 { "it" } else { "them" }
        )
    })
}

/// One part of a run's split, from its manifest (the images the run used, whatever changed in
/// the folder since); `labels` is the run's label CSV for a multi-label run.
pub fn from_split(
    manifest: &Path,
    root: &Path,
    labels: Option<&Path>,
    part: Part,
    classes: &[String],
) -> anyhow::Result<Labelled> {
    let split = Split::read_manifest(manifest, root)?;
    let (split, multi) = match labels {
        Some(csv) => {
            let multi = labels_in(csv, root, classes)?;
            (multi.relabel(split, manifest)?, Some(multi))
        }
        None => (split, None),
    };
    let mut samples = Vec::with_capacity(split.part(part).len());
    for sample in split.part(part) {
        // A multi-label image's labels are the CSV's (its Sample::label is only a stratum, one
        // past the labels for an image without any).
        let label = match &multi {
            Some(_) => sample.label,
            None => {
                let name = &split.classes[sample.label];
                classes.iter().position(|c| c == name).with_context(|| {
                    format!("{}: class {name:?} is not in the run's classes.txt", manifest.display())
                })?
            }
        };
        samples.push(Sample {
            path: sample.path.clone(),
            label,
        });
    }
    anyhow::ensure!(
        !samples.is_empty(),
        "the run's {} split has no images (see its split.csv); evaluate another with --split, or a folder",
        part.as_str()
    );
    Ok(Labelled {
        samples,
        multi,
        notes: Vec::new(),
    })
}

fn has_loose_images(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().is_file() && is_image_path(&e.path()))
        })
        .unwrap_or(false)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// `"a" is` or `"a", "b" are`.
fn are(names: &[&str]) -> String {
    format!("{} {}", quoted(names), if names.len() == 1 { "is" } else { "are" })
}

/// `"a", "b"` for names quoted in a message.
fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// The first dozen class names and how many more.
fn named(classes: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut text = classes.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if classes.len() > SHOWN {
        text += &format!(" and {} more", classes.len() - SHOWN);
    }
    text
}
