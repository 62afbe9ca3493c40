//! A real S3-protocol server for the object-store tests: moto's server (`moto[server]`, pinned
//! in `scripts/tools-venv.txt`; `make setup` puts it in `target/tools-venv`) on a free loopback
//! port, with one bucket, killed when the guard drops (also on panic). Moto enforces S3's
//! 5 MiB minimum part size, as S3 does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use senim_callcentre::config::Config;

/// The bucket every [`TestS3`] makes.
pub const BUCKET: &str = "senim-videos";

/// A running moto server; `Drop` kills it.
pub struct TestS3 {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
    /// Holds the secret access key file of [`TestS3::configure`].
    secrets: tempfile::TempDir,
}

fn moto_server() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools-venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} is missing: run `make setup` (scripts/setup.sh) to make the tools venv with the \
         pinned moto[server]",
        bin.display()
    );
    bin
}

impl TestS3 {
    /// Starts moto on a free loopback port, waits until it answers and makes [`BUCKET`].
    pub async fn start() -> TestS3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut s3 = TestS3 {
            child,
            port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            secrets: tempfile::tempdir().unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = s3.child.try_wait().unwrap() {
                panic!("moto_server exited at start: {status}");
            }
            if s3.http.get(s3.endpoint()).send().await.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let r = s3
            .http
            .put(format!("{}/{BUCKET}", s3.endpoint()))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "bucket not made: {}", r.status());
        s3
    }

    /// The endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points `config`'s `[storage]` at this server's bucket under `prefix`, with the
    /// credentials in `access_key_id` + `secret_access_key_file` (moto takes any).
    pub fn configure(&self, config: &mut Config, prefix: &str) {
        let secret = self.secrets.path().join("s3.secret");
        std::fs::write(&secret, "test-secret-key\n").unwrap();
        config.storage.url = Some(format!("s3://{BUCKET}/{prefix}"));
        config.storage.endpoint = Some(self.endpoint());
        config.storage.access_key_id = Some("test-key-id".into());
        config.storage.secret_access_key_file = Some(secret);
    }

    /// The keys (and sizes) of the bucket's objects under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<(String, u64)> {
        let body = self
            .http
            .get(format!("{}/{BUCKET}", self.endpoint()))
            .query(&[("list-type", "2"), ("prefix", prefix)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("<Contents>")
            .skip(1)
            .map(|c| (tag(c, "Key"), tag(c, "Size").parse().unwrap()))
            .collect()
    }

    /// A client of the bucket (signed requests: moto keeps objects private, as S3 does).
    fn store(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("test-key-id")
            .with_secret_access_key("test-secret-key")
            .build()
            .unwrap()
    }

    /// An object's bytes.
    pub async fn object(&self, key: &str) -> Vec<u8> {
        use object_store::ObjectStore;
        let got = self.store().get(&object_store::path::Path::from(key)).await;
        let got = got.unwrap_or_else(|e| panic!("no object {key}: {e}"));
        got.bytes().await.unwrap().to_vec()
    }

    /// Deletes an object (bytes lost behind the server's back).
    pub async fn delete(&self, key: &str) {
        use object_store::ObjectStore;
        let path = object_store::path::Path::from(key);
        self.store().delete(&path).await.unwrap();
    }

    /// How many multipart uploads are open (neither completed nor aborted) in the bucket.
    pub async fn open_multipart_uploads(&self) -> usize {
        let body = self
            .http
            .get(format!("{}/{BUCKET}?uploads", self.endpoint()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.matches("<Upload>").count()
    }
}

/// The text of the first `<name>` element in `xml`.
fn tag(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(&open)
        .nth(1)
        .and_then(|rest| rest.split(&close).next())
        .unwrap_or_default()
        .to_string()
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
