//! Decoding: every pixel format becomes 8-bit RGB; unreadable files are skipped and counted.

use std::fs;
use std::path::Path;

use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};
use kiln::data::{DataError, Sample, load_rgb, verify_samples};

#[test]
fn grayscale_is_replicated_into_three_channels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.png");
    ImageBuffer::<Luma<u8>, _>::from_fn(5, 3, |x, y| Luma([(x * 40 + y) as u8]))
        .save(&path)
        .expect("save");
    let img = load_rgb(&path).expect("decode");
    assert_eq!(img.dimensions(), (5, 3));
    assert_eq!(img.get_pixel(4, 2).0, [162, 162, 162]);
}

#[test]
fn real_sample_digit_decodes_to_rgb() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/digits/7/0000.png");
    let img = load_rgb(&path).expect("decode sample");
    assert_eq!(img.dimensions(), (28, 28));
    assert!(img.pixels().any(|p| p.0[0] > 200), "a digit has bright strokes");
    assert!(img.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
}

#[test]
fn rgba_drops_alpha_without_blending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.png");
    ImageBuffer::<Rgba<u8>, _>::from_pixel(2, 2, Rgba([200, 100, 50, 10]))
        .save(&path)
        .expect("save");
    assert_eq!(load_rgb(&path).expect("decode").get_pixel(1, 1).0, [200, 100, 50]);
    let la = dir.path().join("la.png");
    ImageBuffer::<LumaA<u8>, _>::from_pixel(2, 2, LumaA([77, 0]))
        .save(&la)
        .expect("save");
    assert_eq!(load_rgb(&la).expect("decode").get_pixel(0, 0).0, [77, 77, 77]);
}

#[test]
fn sixteen_bit_is_scaled_to_eight_bit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rgb16.png");
    ImageBuffer::<Rgb<u16>, _>::from_pixel(3, 3, Rgb([65535, 32896, 0]))
        .save(&path)
        .expect("save");
    assert_eq!(load_rgb(&path).expect("decode").get_pixel(2, 2).0, [255, 128, 0]);
    let gray = dir.path().join("l16.png");
    ImageBuffer::<Luma<u16>, _>::from_pixel(3, 3, Luma([257 * 9]))
        .save(&gray)
        .expect("save");
    assert_eq!(load_rgb(&gray).expect("decode").get_pixel(0, 0).0, [9, 9, 9]);
}

#[test]
fn bmp_jpeg_webp_tiff_gif_decode_and_extension_is_not_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = image::RgbImage::from_pixel(8, 8, Rgb([30, 140, 220]));
    for name in ["x.bmp", "x.jpg", "x.webp", "x.tif", "x.gif"] {
        let p = dir.path().join(name);
        img.save(&p).expect("save");
        let back = load_rgb(&p).expect(name);
        let px = back.get_pixel(4, 4).0;
        assert!(
            px.iter().zip([30u8, 140, 220]).all(|(a, b)| a.abs_diff(b) <= 3),
            "{name}: {px:?}"
        );
    }
    // A JPEG that calls itself .png still loads: the format comes from the bytes.
    let jpeg = fs::read(dir.path().join("x.jpg")).expect("read");
    let liar = dir.path().join("liar.png");
    fs::write(&liar, jpeg).expect("write");
    assert!(load_rgb(&liar).is_ok());
}

#[test]
fn corrupt_files_are_skipped_and_counted_never_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.png");
    image::RgbImage::from_pixel(4, 4, Rgb([1, 2, 3]))
        .save(&good)
        .expect("save");
    let bytes = fs::read(&good).expect("read");
    let truncated = dir.path().join("truncated.png");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let garbage = dir.path().join("garbage.jpg");
    fs::write(&garbage, b"this is not a jpeg at all").expect("write");
    let empty = dir.path().join("empty.webp");
    fs::write(&empty, b"").expect("write");
    let missing = dir.path().join("missing.png");

    let err = load_rgb(&truncated).expect_err("truncated must fail");
    assert!(matches!(&err, DataError::Decode { path, .. } if path == &truncated));
    assert!(err.to_string().contains("truncated.png"));
    // A file that is gone is said to be unreadable, not undecodable.
    let err = load_rgb(&missing).expect_err("a missing file must fail");
    assert!(matches!(&err, DataError::Io { path, .. } if path == &missing), "{err}");
    assert!(err.to_string().starts_with("cannot read "), "{err}");

    let samples: Vec<Sample> = [&good, &truncated, &garbage, &empty, &missing, &good]
        .iter()
        .enumerate()
        .map(|(i, p)| Sample {
            path: p.to_path_buf(),
            label: i % 2,
        })
        .collect();
    let report = verify_samples(&samples, 3);
    assert_eq!(report.ok.len(), 2);
    assert_eq!(report.skipped.len(), 4);
    let skipped: Vec<_> = report.skipped.iter().map(|s| s.path.clone()).collect();
    assert_eq!(skipped, [truncated, garbage, empty, missing]);
    assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    assert!(
        report.skipped[3].reason.starts_with("cannot open it: "),
        "{:?}",
        report.skipped[3]
    );
}
