//! Videos in an S3-compatible object store (`[storage] url = "s3://…"`), against a real
//! S3-protocol server (moto, `common/s3.rs`): tus chunks of any size become one object through
//! a multipart upload (small chunks staged until they fill a 5 MiB part), the console plays it
//! with range requests (sealed videos decrypted from ranged GETs), a second server on the same
//! bucket and data folder finishes an upload the first one started (hashing it again), a
//! terminated upload leaves nothing behind, and a bad `[storage] url` stops the start. A system
//! update published on one server goes to the object store, and a server without it in its
//! data folder serves it to kiosks from there, with ranges.

mod common;
#[path = "common/rauc.rs"]
mod rauc;
#[path = "common/s3.rs"]
mod s3;

use common::tus::{upload_id, video, Kiosk};
use common::{http_sign_in, test_config, TestServer};
use reqwest::StatusCode;
use s3::TestS3;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;
const PASSWORD: &str = "correct horse battery";

async fn server_on(s3: &TestS3, dir: tempfile::TempDir) -> TestServer {
    let mut config = test_config();
    s3.configure(&mut config, "cc");
    TestServer::start_in(config, None, dir).await
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// PATCHes `chunk` at `offset`; the new offset.
async fn patch_ok(kiosk: &Kiosk, location: &str, offset: usize, chunk: &[u8]) -> usize {
    let r = kiosk.patch(location, offset, chunk).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "PATCH at {offset}");
    let new: usize = r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(new, offset + chunk.len());
    new
}

/// The console's answer to a ranged GET of an appeal's video.
async fn console_range(server: &TestServer, appeal: &str, range: &str) -> (StatusCode, Vec<u8>) {
    let cookie = http_sign_in(server, PASSWORD).await.expect("signed in");
    let r = reqwest::Client::new()
        .get(format!("{}/console/appeals/{appeal}/video", server.url))
        .header("Cookie", cookie)
        .header("Range", range)
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_in_uneven_chunks_becomes_one_object_and_plays_with_ranges() {
    let s3 = TestS3::start().await;
    let server = server_on(&s3, tempfile::tempdir().unwrap()).await;
    server.operator("aigerim", PASSWORD, "Aigerim");
    let kiosk = Kiosk::enrol(&server).await;
    // A kiosk seals its video to the call-centre's recipient; the object is those bytes.
    let plain = video(5, 13 * MIB + 12_345);
    let sealed = server
        .state
        .seal
        .as_ref()
        .unwrap()
        .current()
        .seal(&plain)
        .unwrap();
    let appeal = kiosk.appeal(1, &sealed).await;
    let location = kiosk.create_ok(&appeal, sealed.len()).await;
    let id = upload_id(&location);
    let staged = format!("cc/uploads/{id}/staged/");

    // 1 MiB and 3 MiB: below a part, staged as objects; no part yet.
    let mut offset = patch_ok(&kiosk, &location, 0, &sealed[..MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &sealed[offset..4 * MIB + 17]).await;
    let keys = s3.keys(&staged).await;
    assert_eq!(keys.len(), 2, "two staged chunks: {keys:?}");
    assert_eq!(keys.iter().map(|k| k.1).sum::<u64>(), offset as u64);
    // 2 MiB more: the staged bytes and the chunk's first MiB fill a 5 MiB part, the rest of
    // the chunk is staged; the staged objects in the part go once the offset is stored.
    offset = patch_ok(&kiosk, &location, offset, &sealed[offset..offset + 2 * MIB]).await;
    let manifest: serde_json::Value =
        serde_json::from_slice(&s3.object(&format!("cc/uploads/{id}/manifest.json")).await)
            .unwrap();
    assert_eq!(manifest["parts"].as_array().unwrap().len(), 1);
    let part = manifest["parts"][0]["len"].as_u64().unwrap();
    assert!(part >= 5 * MIB as u64);
    let keys = s3.keys(&staged).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].0.ends_with(&format!("{part:020}")));
    assert_eq!(part + keys[0].1, offset as u64);
    // 700 KiB, then 6 MiB at once, then the rest.
    offset = patch_ok(
        &kiosk,
        &location,
        offset,
        &sealed[offset..offset + 700 * 1024],
    )
    .await;
    offset = patch_ok(&kiosk, &location, offset, &sealed[offset..offset + 6 * MIB]).await;
    assert_eq!(s3.open_multipart_uploads().await, 1);
    offset = patch_ok(&kiosk, &location, offset, &sealed[offset..]).await;
    assert_eq!(offset, sealed.len());

    let (status, at, got_sha) = kiosk.state(&location).await;
    assert_eq!((status, at), (StatusCode::OK, sealed.len() as u64));
    assert_eq!(got_sha.as_deref(), Some(sha(&sealed).as_str()));
    let object = s3.object(&format!("cc/videos/{id}")).await;
    assert!(object == sealed, "the object is the uploaded bytes");
    assert_eq!(s3.keys(&format!("cc/uploads/{id}/")).await, []);
    assert_eq!(s3.open_multipart_uploads().await, 0);
    assert!(
        !server.data().join("uploads").join(&id).exists(),
        "nothing in the data folder"
    );

    // The console decrypts the asked ranges from ranged GETs.
    let (status, body) = console_range(&server, &appeal, "bytes=1000000-2999999").await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body == plain[1_000_000..3_000_000], "the range's plaintext");
    let (status, body) = console_range(&server, &appeal, "bytes=-4000").await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body == plain[plain.len() - 4000..]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_finishes_an_upload_the_first_began_and_hashes_it_again() {
    let s3 = TestS3::start().await;
    let first = server_on(&s3, tempfile::tempdir().unwrap()).await;
    first.operator("aigerim", PASSWORD, "Aigerim");
    let mut kiosk = Kiosk::enrol(&first).await;
    // A video the kiosk did not seal (the server seals it in place when it is complete).
    let plain = video(9, 12 * MIB + 777);
    let appeal = kiosk.appeal(1, &plain).await;
    let location = kiosk.create_ok(&appeal, plain.len()).await;
    let id = upload_id(&location);
    let mut offset = patch_ok(&kiosk, &location, 0, &plain[..3 * MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + 4 * MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + MIB + 5]).await;
    // Half way: a 5 MiB part and two staged objects; the first server goes away.
    let staged = s3.keys(&format!("cc/uploads/{id}/staged/")).await;
    assert_eq!(staged.len(), 2, "{staged:?}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&s3.object(&format!("cc/uploads/{id}/manifest.json")).await)
            .unwrap();
    let part = manifest["parts"][0]["len"].as_u64().unwrap();
    assert_eq!(
        part + staged.iter().map(|k| k.1).sum::<u64>(),
        offset as u64
    );
    let dir = first.stop_keeping_data().await;

    let second = server_on(&s3, dir).await;
    kiosk.url = second.url.clone();
    let (status, at, _) = kiosk.state(&location).await;
    assert_eq!((status, at), (StatusCode::OK, offset as u64));
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + 2 * MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..]).await;
    assert_eq!(offset, plain.len());
    // The second server had no running hash: it read the object back, and it matches.
    let (_, _, got_sha) = kiosk.state(&location).await;
    assert_eq!(got_sha.as_deref(), Some(sha(&plain).as_str()));
    let object = s3.object(&format!("cc/videos/{id}")).await;
    assert!(
        senim_common::seal::is_sealed(&object),
        "sealed in place in the bucket"
    );
    let opened = second.state.seal.as_ref().unwrap().open(&object).unwrap();
    assert!(
        opened == plain,
        "the sealed object opens to the uploaded video"
    );
    assert_eq!(s3.open_multipart_uploads().await, 0);
    let (status, body) = console_range(&second, &appeal, "bytes=6000000-6099999").await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert!(body == plain[6_000_000..6_100_000]);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_or_expired_upload_leaves_no_staged_objects_or_open_multipart_upload() {
    let s3 = TestS3::start().await;
    let server = server_on(&s3, tempfile::tempdir().unwrap()).await;
    let kiosk = Kiosk::enrol(&server).await;
    let plain = video(2, 9 * MIB);
    let appeal = kiosk.appeal(1, &plain).await;
    let location = kiosk.create_ok(&appeal, plain.len()).await;
    let id = upload_id(&location);
    let offset = patch_ok(&kiosk, &location, 0, &plain[..6 * MIB]).await;
    patch_ok(&kiosk, &location, offset, &plain[offset..offset + MIB]).await;
    assert_eq!(s3.open_multipart_uploads().await, 1);
    assert!(!s3.keys(&format!("cc/uploads/{id}/")).await.is_empty());
    let r = kiosk
        .req(reqwest::Method::DELETE, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(s3.keys("cc/").await, []);
    assert_eq!(s3.open_multipart_uploads().await, 0);

    // An upload that expires unfinished: the sweep aborts it and deletes its staged objects.
    let location = kiosk.create_ok(&appeal, plain.len()).await;
    let offset = patch_ok(&kiosk, &location, 0, &plain[..5 * MIB + 3]).await;
    patch_ok(&kiosk, &location, offset, &plain[offset..offset + 2 * MIB]).await;
    assert_eq!(s3.open_multipart_uploads().await, 1);
    let id = upload_id(&location);
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let at = (offset + 2 * MIB) as u64;
    server
        .state
        .db
        .write(move |tx| senim_callcentre::db::set_upload_offset(tx, &id, at, past))
        .unwrap();
    let swept = senim_callcentre::api::tus::sweep_expired(&server.state)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert_eq!(s3.keys("cc/").await, []);
    assert_eq!(s3.open_multipart_uploads().await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_start_offsets_past_the_stored_bytes_go_back_and_lost_uploads_expire() {
    let s3 = TestS3::start().await;
    let first = server_on(&s3, tempfile::tempdir().unwrap()).await;
    let mut kiosk = Kiosk::enrol(&first).await;
    let (one, two) = (video(3, 8 * MIB), video(4, 2 * MIB));
    let (a1, a2) = (kiosk.appeal(1, &one).await, kiosk.appeal(2, &two).await);
    let (l1, l2) = (
        kiosk.create_ok(&a1, one.len()).await,
        kiosk.create_ok(&a2, two.len()).await,
    );
    let mut offset = patch_ok(&kiosk, &l1, 0, &one[..6 * MIB]).await;
    offset = patch_ok(&kiosk, &l1, offset, &one[offset..offset + MIB]).await;
    patch_ok(&kiosk, &l2, 0, &two[..MIB]).await;
    let dir = first.stop_keeping_data().await;
    // Behind the server's back: the first upload's last staged chunk and the second's
    // manifest are lost.
    let id = upload_id(&l1);
    let staged = s3.keys(&format!("cc/uploads/{id}/staged/")).await;
    let last = staged.iter().max().unwrap().clone();
    s3.delete(&last.0).await;
    s3.delete(&format!("cc/uploads/{}/manifest.json", upload_id(&l2)))
        .await;

    let second = server_on(&s3, dir).await;
    kiosk.url = second.url.clone();
    let (status, at, _) = kiosk.state(&l1).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        at,
        offset as u64 - last.1,
        "set back to the bytes the bucket holds"
    );
    assert_eq!(kiosk.state(&l2).await.0, StatusCode::GONE);
    // The kiosk goes on from there and the video is whole.
    let at = at as usize;
    patch_ok(&kiosk, &l1, at, &one[at..]).await;
    assert_eq!(
        kiosk.state(&l1).await.2.as_deref(),
        Some(sha(&one).as_str())
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_whose_staged_bytes_vanish_is_expired_and_started_again() {
    let s3 = TestS3::start().await;
    let server = server_on(&s3, tempfile::tempdir().unwrap()).await;
    let kiosk = Kiosk::enrol(&server).await;
    let plain = video(6, 8 * MIB);
    let appeal = kiosk.appeal(1, &plain).await;
    let location = kiosk.create_ok(&appeal, plain.len()).await;
    let id = upload_id(&location);
    let mut offset = patch_ok(&kiosk, &location, 0, &plain[..MIB]).await;
    offset = patch_ok(&kiosk, &location, offset, &plain[offset..offset + MIB]).await;
    // Behind the server's back (a lifecycle rule, a hand): a staged chunk goes.
    let staged = s3.keys(&format!("cc/uploads/{id}/staged/")).await;
    s3.delete(&staged[0].0).await;
    let r = kiosk.patch(&location, offset, &plain[offset..]).await;
    assert_eq!(
        common::tus::error_code(r).await,
        (StatusCode::SERVICE_UNAVAILABLE, "upload_lost".into())
    );
    assert_eq!(kiosk.state(&location).await.0, StatusCode::GONE);
    // The kiosk starts again and the video arrives whole.
    let again = kiosk.create_ok(&appeal, plain.len()).await;
    patch_ok(&kiosk, &again, 0, &plain).await;
    assert_eq!(
        kiosk.state(&again).await.2.as_deref(),
        Some(sha(&plain).as_str())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_whose_offset_was_never_stored_is_replaced_by_the_next_writer() {
    use senim_callcentre::videos::S3Videos;
    let s3 = TestS3::start().await;
    let mut config = test_config();
    s3.configure(&mut config, "cc");
    let store = S3Videos::open(&config.storage, s3::BUCKET, "cc").unwrap();
    let (lost, kept) = (video(1, 6 * MIB), video(2, 8 * MIB));
    store.create("up1").await.unwrap();
    // A chunk puts a part and writes the manifest; the server dies before the offset (0) moves.
    let mut w = store.writer("up1", 0, kept.len() as u64).await.unwrap();
    w.write(lost.into()).await.unwrap();
    w.commit().await.unwrap();
    assert_eq!(store.manifest("up1").await.unwrap().unwrap().parts.len(), 1);
    // The next writer goes on from the stored offset, 0: the part is put again.
    let mut w = store.writer("up1", 0, kept.len() as u64).await.unwrap();
    w.write(kept[..6 * MIB].to_vec().into()).await.unwrap();
    assert_eq!(w.commit().await.unwrap(), 6 * MIB as u64);
    w.tidy().await;
    // An offset past what is stored in the bucket cannot be gone on from.
    assert!(store
        .writer("up1", 7 * MIB as u64, kept.len() as u64)
        .await
        .is_err());
    let mut w = store
        .writer("up1", 6 * MIB as u64, kept.len() as u64)
        .await
        .unwrap();
    w.write(kept[6 * MIB..].to_vec().into()).await.unwrap();
    w.commit().await.unwrap();
    assert!(s3.object("cc/videos/up1").await == kept);
    assert_eq!(store.sha256("up1").await.unwrap(), sha(&kept));
    store.remove_upload("up1", false).await.unwrap();
    assert_eq!(s3.keys("cc/uploads/").await, []);
}

/// Runs `senim-callcentre serve` with `storage` as its `[storage]` section and moto's
/// credentials in its environment; it must refuse to start: its stderr.
fn refused_start(storage: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("callcentre.toml");
    let data = dir.path().join("data");
    let keys = dir.path().join("seal.keys");
    std::fs::write(
        &config,
        format!("[server]\ndata_dir = {data:?}\n\n[storage]\nkey_file = {keys:?}\n{storage}"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .args(["--config", config.to_str().unwrap()])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AWS_ACCESS_KEY_ID", "test-key-id")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-key")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_storage_url_refuses_to_start_with_a_clear_message() {
    let stderr = refused_start("url = \"s3:/no-bucket\"\n");
    assert!(
        stderr.contains("storage.url") && stderr.contains("s3://bucket"),
        "the message names the key and what it takes: {stderr}"
    );
    // A well-formed URL of a bucket the store does not have: refused at start too.
    let s3 = TestS3::start().await;
    let endpoint = s3.endpoint();
    let stderr = tokio::task::spawn_blocking(move || {
        refused_start(&format!(
            "url = \"s3://no-such-bucket\"\nendpoint = \"{endpoint}\"\n"
        ))
    })
    .await
    .unwrap();
    assert!(
        stderr.contains("storage.url") && stderr.contains("no-such-bucket"),
        "{stderr}"
    );
    // An http endpoint off loopback is refused too, naming its key.
    let text = "[storage]\nurl = \"s3://videos\"\nendpoint = \"http://10.0.0.9:9000\"\n";
    let err =
        senim_callcentre::config::Config::parse(text, std::path::Path::new("cc.toml")).unwrap_err();
    assert!(err.to_string().contains("storage.endpoint"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_published_on_one_server_is_served_by_another_from_the_object_store() {
    let s3 = TestS3::start().await;
    let signer = rauc::Signer::new("senim update test");
    let bundle = signer.bundle("3.1.0", 300_000);
    let bytes = std::fs::read(&bundle).unwrap();
    let mut config = test_config();
    s3.configure(&mut config, "cc");
    config.updates.keyring = Some(signer.cert());
    let server = TestServer::start_in(config.clone(), None, tempfile::tempdir().unwrap()).await;
    let kiosk = Kiosk::enrol(&server).await;

    // `update publish`: checked by rauc, kept, sent to the object store, recorded.
    let (state, path) = (std::sync::Arc::clone(&server.state), bundle.clone());
    let published = tokio::task::spawn_blocking(move || {
        let store = state.videos.object_store().unwrap().cloned();
        let updates = &state.config.updates;
        senim_callcentre::updates::publish(
            &state.db,
            updates,
            store,
            &path,
            &[],
            chrono::Utc::now(),
        )
    })
    .await
    .unwrap()
    .unwrap();
    let key = format!("cc/updates/{}.raucb", published.sha256);
    assert!(
        s3.object(&key).await == bytes,
        "the bundle is in the object store"
    );
    server.state.refresh_updates().unwrap();

    // Another server (its data folder has no copy; here: the copy removed) serves it from there.
    std::fs::remove_file(senim_callcentre::updates::bundle_path(
        &server.data(),
        &published.sha256,
    ))
    .unwrap();
    let get = |range: Option<&str>, sha: &str| {
        let mut r = kiosk.req(reqwest::Method::GET, &format!("/api/v1/updates/{sha}"));
        if let Some(range) = range {
            r = r.header("Range", range);
        }
        r.send()
    };
    let whole = get(None, &published.sha256).await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert!(whole.bytes().await.unwrap() == bytes, "the whole bundle");
    // A download cut at 100,000 bytes resumes from there.
    let rest = get(Some("bytes=100000-"), &published.sha256).await.unwrap();
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.headers()["content-range"],
        format!("bytes 100000-{}/{}", bytes.len() - 1, bytes.len()).as_str()
    );
    assert!(rest.bytes().await.unwrap() == bytes[100_000..], "the rest");
    // A bundle nobody published is not there.
    let unknown = get(None, &"0".repeat(64)).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
