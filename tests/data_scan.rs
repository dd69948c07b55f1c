//! Folder scanning: the bundled samples, the pre-split layout and every bad-data case.

use std::fs;
use std::path::{Path, PathBuf};

use kiln::data::{DataError, Layout, scan_dataset};

fn assets(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets").join(name)
}

fn png(path: &Path) {
    fs::create_dir_all(path.parent().expect("test path has a parent")).expect("create dir");
    image::RgbImage::from_pixel(4, 4, image::Rgb([10, 200, 30]))
        .save(path)
        .expect("write png");
}

#[test]
fn bundled_digits_scan_as_ten_sorted_classes() {
    let scan = scan_dataset(&assets("digits")).expect("digits scan");
    let expected: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(scan.classes, expected);
    let Layout::Unsplit(samples) = &scan.layout else {
        panic!("digits should be unsplit")
    };
    assert_eq!(samples.len(), 1000);
    for label in 0..10 {
        assert_eq!(samples.iter().filter(|s| s.label == label).count(), 100);
    }
    // LICENSE files beside the class folders are not images and not classes.
    assert!(samples.iter().all(|s| s.path.extension().is_some_and(|e| e == "png")));
}

#[test]
fn bundled_fashion_class_names_are_folder_names_sorted() {
    let scan = scan_dataset(&assets("fashion")).expect("fashion scan");
    let mut sorted = scan.classes.clone();
    sorted.sort();
    assert_eq!(scan.classes, sorted);
    assert_eq!(scan.classes.len(), 10);
    assert_eq!(scan.classes[0], "ankle-boot");
}

#[test]
fn non_image_files_are_ignored_and_extensions_are_case_insensitive() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("cat/a.png"));
    png(&dir.path().join("cat/B.PNG"));
    png(&dir.path().join("dog/nested/c.png"));
    fs::write(dir.path().join("dog/notes.txt"), "not an image").expect("write");
    fs::write(dir.path().join("dog/.hidden.png"), "hidden").expect("write");
    fs::write(dir.path().join("README.md"), "root file").expect("write");
    let scan = scan_dataset(dir.path()).expect("scan");
    assert_eq!(scan.classes, ["cat", "dog"]);
    let Layout::Unsplit(samples) = scan.layout else {
        panic!("unsplit expected")
    };
    assert_eq!(samples.len(), 3);
    // notes.txt, not README.md beside the classes; hidden files are not counted.
    assert_eq!(scan.ignored, [dir.path().join("dog/notes.txt")]);
    let said = kiln::data::ignored_warning(dir.path(), &scan.ignored).expect("a warning");
    assert!(
        said.starts_with("1 file in the class folders is not an image kiln reads (png, "),
        "{said}"
    );
    assert!(said.ends_with("and was left out: dog/notes.txt"), "{said}");
}

#[test]
fn empty_class_is_an_error_naming_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("cat/a.png"));
    png(&dir.path().join("dog/b.png"));
    fs::create_dir_all(dir.path().join("emu")).expect("mkdir");
    fs::write(dir.path().join("emu/readme.txt"), "no images here").expect("write");
    let err = scan_dataset(dir.path()).expect_err("empty class must fail");
    assert!(matches!(&err, DataError::EmptyClass(p) if p.ends_with("emu")), "{err}");
    assert!(err.to_string().contains("emu"), "{err}");
}

#[test]
fn single_class_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("only/a.png"));
    let err = scan_dataset(dir.path()).expect_err("one class must fail");
    assert!(
        matches!(&err, DataError::SingleClass { class, .. } if class == "only"),
        "{err}"
    );
    assert!(err.to_string().contains("only"));
}

#[test]
fn no_images_at_all_is_an_error_naming_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("cat")).expect("mkdir");
    fs::write(dir.path().join("cat/a.txt"), "text").expect("write");
    let err = scan_dataset(dir.path()).expect_err("no images must fail");
    assert!(matches!(&err, DataError::NoImages(p) if p == dir.path()), "{err}");
    // It names every format the scan takes, TIFF and GIF included.
    assert!(
        err.to_string()
            .contains(".png/.jpg/.jpeg/.bmp/.webp/.tif/.tiff/.gif files"),
        "{err}"
    );
    // A root with no folders at all says the same.
    let empty = tempfile::tempdir().expect("tempdir");
    assert!(matches!(scan_dataset(empty.path()), Err(DataError::NoImages(_))));
}

#[test]
fn missing_root_is_an_error() {
    let err = scan_dataset(Path::new("/definitely/not/here")).expect_err("must fail");
    assert!(matches!(err, DataError::MissingRoot(_)));
    assert!(err.to_string().contains("/definitely/not/here"));
    assert!(!err.to_string().contains("relative to"), "{err}");
    // A relative path says where it was looked for.
    let err = scan_dataset(Path::new("not/here/either")).expect_err("must fail");
    let cwd = std::env::current_dir().unwrap();
    let want = format!(
        "not/here/either (relative to the folder kiln runs in, {})",
        cwd.display()
    );
    assert!(err.to_string().contains(&want), "{err}");
}

#[test]
fn pre_split_layout_is_used_as_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    for part in ["train", "val", "test"] {
        for class in ["a", "b"] {
            png(&dir.path().join(format!("{part}/{class}/x.png")));
        }
    }
    png(&dir.path().join("train/a/y.png"));
    let scan = scan_dataset(dir.path()).expect("scan");
    assert_eq!(scan.classes, ["a", "b"]);
    let Layout::PreSplit { train, val, test } = scan.layout else {
        panic!("pre-split expected")
    };
    assert_eq!((train.len(), val.len(), test.len()), (3, 2, 2));
}

#[test]
fn pre_split_class_sets_must_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("train/a/x.png"));
    png(&dir.path().join("train/b/x.png"));
    png(&dir.path().join("val/a/x.png"));
    png(&dir.path().join("val/c/x.png"));
    let err = scan_dataset(dir.path()).expect_err("mismatch must fail");
    let msg = err.to_string();
    assert!(matches!(err, DataError::ClassMismatch { .. }), "{msg}");
    assert!(msg.contains("[b]") && msg.contains("[c]"), "{msg}");
}

#[test]
fn train_without_val_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("train/a/x.png"));
    png(&dir.path().join("train/b/x.png"));
    assert!(matches!(scan_dataset(dir.path()), Err(DataError::MissingVal { .. })));
}
