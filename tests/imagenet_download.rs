//! The ImageNet weight download, against a server on loopback: progress, checksum, cache,
//! and the offline message. No test touches the internet.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use kiln::model::Arch;
use kiln::weights::imagenet::{self, DownloadError, download_verified};
use sha2::{Digest, Sha256};

/// Serves `body` to `requests` HTTP requests on a loopback port; returns the base URL.
fn serve(body: Vec<u8>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn verified_download_keeps_a_good_file_and_drops_a_bad_one() {
    let body: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let sha = format!("{:x}", Sha256::digest(&body));
    let base = serve(body.clone(), 2);
    let dir = tempfile::tempdir().unwrap();

    let good = dir.path().join("cache/weights/good.pth");
    download_verified(&format!("{base}/good.pth"), &good, &sha[..8]).unwrap();
    assert_eq!(std::fs::read(&good).unwrap(), body);

    let bad = dir.path().join("cache/weights/bad.pth");
    let err = download_verified(&format!("{base}/bad.pth"), &bad, "00000000").unwrap_err();
    assert_eq!(
        err,
        DownloadError::Checksum {
            expected: "00000000".into(),
            actual: sha[..8].into()
        }
    );
    assert!(!bad.exists(), "a file failing its checksum must not be kept");
    assert!(!bad.with_extension("part").exists(), "no partial file left behind");
}

#[test]
fn offline_error_names_the_url_and_where_to_put_the_file() {
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parity/expected.json");
    let out = std::process::Command::new(kiln)
        .args(["predict", "--model", "resnet34", "--weights", "imagenet", image])
        .env("KILN_CACHE_DIR", dir.path())
        .env("KILN_WEIGHTS_URL", format!("http://127.0.0.1:{port}/models"))
        .env("HOME", dir.path())
        .env_remove("TORCH_HOME")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let url = format!("http://127.0.0.1:{port}/models/resnet34-b627a593.pth");
    assert!(stderr.contains(&url), "{stderr}");
    let path = dir.path().join("weights/resnet34-b627a593.pth");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

#[test]
fn the_cache_is_used_before_the_network() {
    assert_eq!(imagenet::expected_sha256_prefix(Arch::ResNet152), "394f9c45");
    let dir = tempfile::tempdir().unwrap();
    // SAFETY of the test: this is the only test in this binary that reads KILN_CACHE_DIR in-process.
    unsafe { std::env::set_var("KILN_CACHE_DIR", dir.path()) };
    let path = imagenet::cached_path(Arch::ResNet18);
    assert_eq!(path, dir.path().join("weights/resnet18-f37072fd.pth"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"cached").unwrap();
    unsafe { std::env::set_var("KILN_WEIGHTS_URL", "http://127.0.0.1:9/none") };
    assert_eq!(imagenet::fetch(Arch::ResNet18).unwrap(), path);
}
