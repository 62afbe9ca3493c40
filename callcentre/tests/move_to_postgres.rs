//! Moving a single server to several: `senim-callcentre migrate --from-sqlite DATA_DIR` copies
//! a SQLite call-centre's data folder into an empty PostgreSQL database and the object store.
//! A server started on them lets the same operator sign in and play the same video, takes the
//! same kiosk's records, and has the kiosk send an upload that was open again; every table has
//! the rows it had, and the published update bundle is in the object store for every server. A second copy is refused and changes nothing; so is a copy without
//! PostgreSQL.

mod common;
#[path = "common/rauc.rs"]
mod rauc;
#[path = "common/s3.rs"]
mod s3;

use std::path::Path;
use std::process::{Command, Output};

use common::postgres::TestPostgres;
use common::tus::{upload_id, video, Kiosk};
use common::{http_sign_in, test_config, TestServer};
use reqwest::StatusCode;
use s3::TestS3;
use senim_callcentre::db::sql::Connection;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;
const PASSWORD: &str = "correct horse battery";

/// `senim-callcentre <option> <value> migrate --from-sqlite <old>`.
fn copy_from(option: &str, value: &Path, old: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg(option)
        .arg(value)
        .args(["migrate", "--from-sqlite"])
        .arg(old)
        .env("SENIM_LOG", "warn")
        .output()
        .unwrap()
}

/// Checks that a run failed and said `words`.
fn refused_saying(out: &Output, words: &str) {
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains(words), "{said}");
}

/// Every table's rows in the SQLite file of `dir` and in PostgreSQL, side by side.
fn row_counts(dir: &Path, pg: &Connection) -> Vec<(String, i64, i64)> {
    let sqlite = rusqlite::Connection::open(dir.join("senim.sqlite3")).unwrap();
    let tables: Vec<String> = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let q = format!("SELECT COUNT(*) FROM \"{t}\"");
            let in_sqlite: i64 = sqlite.query_row(&q, [], |r| r.get(0)).unwrap();
            let in_pg: i64 = pg.query_row(&q, [], |r| r.get(0)).unwrap();
            (t, in_sqlite, in_pg)
        })
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_servers_data_moves_into_postgresql_and_the_object_store() {
    // The single server: SQLite and videos in its data folder, whatever store the suite uses.
    let signer = rauc::Signer::new("senim update test");
    let mut single_config = test_config();
    single_config.updates.keyring = Some(signer.cert());
    let single = TestServer::start_embedded_in(single_config, tempfile::tempdir().unwrap()).await;
    single.operator("aigerim", PASSWORD, "Aigerim");
    http_sign_in(&single, PASSWORD).await.expect("signed in");
    let mut kiosk = Kiosk::enrol(&single).await;
    let whole = video(1, 6 * MIB + 4321);
    let answered = kiosk.appeal(1, &whole).await;
    let location = kiosk.create_ok(&answered, whole.len()).await;
    assert_eq!(
        kiosk.patch(&location, 0, &whole).await.status(),
        StatusCode::NO_CONTENT
    );
    let half_sent = video(2, 3 * MIB);
    let open = kiosk.appeal(2, &half_sent).await;
    let open_location = kiosk.create_ok(&open, half_sent.len()).await;
    assert_eq!(
        kiosk
            .patch(&open_location, 0, &half_sent[..MIB])
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let bundle = signer.bundle("3.2.0", 100_000);
    let (state, path) = (std::sync::Arc::clone(&single.state), bundle.clone());
    let published = tokio::task::spawn_blocking(move || {
        let updates = &state.config.updates;
        senim_callcentre::updates::publish(&state.db, updates, None, &path, &[], chrono::Utc::now())
    })
    .await
    .unwrap()
    .unwrap();
    let old = single.stop_keeping_data().await;

    // The new service: PostgreSQL, the object store, the old server's keys (as the docs say).
    let pg = TestPostgres::start();
    let database = pg.url();
    let s3 = TestS3::start().await;
    let mut config = test_config();
    config.database.url = Some(database.clone());
    s3.configure(&mut config, "cc");
    let new = tempfile::tempdir().unwrap();
    for key in ["signing.key", "seal.keys"] {
        std::fs::copy(old.path().join(key), new.path().join(key)).unwrap();
    }
    let toml = new.path().join("callcentre.toml");
    std::fs::write(
        &toml,
        format!(
            "[server]\ndata_dir = {data:?}\n[database]\nurl = {database:?}\n\
             [storage]\nurl = {url:?}\nendpoint = {endpoint:?}\n\
             access_key_id = \"test-key-id\"\nsecret_access_key_file = {secret:?}\n",
            data = new.path(),
            url = config.storage.url.as_deref().unwrap(),
            endpoint = config.storage.endpoint.as_deref().unwrap(),
            secret = config.storage.secret_access_key_file.as_ref().unwrap(),
        ),
    )
    .unwrap();

    // Without PostgreSQL there is nowhere to copy to.
    refused_saying(
        &copy_from("--data", new.path(), old.path()),
        "--database-url",
    );

    let copied = copy_from("--config", &toml, old.path());
    let said = String::from_utf8_lossy(&copied.stdout).to_string();
    assert!(
        copied.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(
        said.contains("Finished videos copied to s3://senim-videos/cc: 1."),
        "{said}"
    );
    assert!(
        said.contains("Uploads still open, now expired: 1;"),
        "{said}"
    );
    assert!(
        said.contains("Update bundles copied to s3://senim-videos/cc: 1 of 1."),
        "{said}"
    );
    let bundle_key = format!("cc/updates/{}.raucb", published.sha256);
    assert!(
        s3.object(&bundle_key).await == std::fs::read(&bundle).unwrap(),
        "the update bundle is in the object store"
    );
    let conn = Connection::postgres(&database).unwrap();
    let counts = row_counts(old.path(), &conn);
    for (table, in_sqlite, in_pg) in &counts {
        assert_eq!(in_sqlite, in_pg, "rows of {table}");
    }
    for table in [
        "kiosks",
        "operators",
        "appeals",
        "uploads",
        "audit",
        "records",
    ] {
        assert!(
            counts.iter().any(|(t, n, _)| t == table && *n > 0),
            "the single server had {table}"
        );
    }
    let video_key = format!("cc/videos/{}", upload_id(&location));
    // The bytes as the single server kept them (sealed at rest): the same object.
    let kept = std::fs::read(old.path().join("uploads").join(upload_id(&location))).unwrap();
    assert!(
        s3.object(&video_key).await == kept,
        "the video's object is the kept file"
    );

    // A second copy would mix two histories: refused, nothing changed.
    refused_saying(
        &copy_from("--config", &toml, old.path()),
        "already holds data",
    );
    assert_eq!(row_counts(old.path(), &conn), counts);

    // A server of the new service: the same operator, video, kiosk.
    let audit = |conn: &Connection| -> i64 {
        conn.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .unwrap()
    };
    let audited = audit(&conn);
    let server = TestServer::start_in(config, None, new).await;
    let cookie = http_sign_in(&server, PASSWORD).await.expect("signed in");
    let r = reqwest::Client::new()
        .get(format!("{}/console/appeals/{answered}/video", server.url))
        .header("Cookie", cookie)
        .header("Range", "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert!(
        r.bytes().await.unwrap().as_ref() == &whole[1000..],
        "the video plays"
    );

    // The sign-in was audited: new rows are numbered after the copied ones.
    assert!(audit(&conn) > audited, "the sign-in is in the audit trail");

    kiosk.url = server.url.clone();
    // The open upload's bytes stayed behind: the kiosk is told so and sends the video again.
    assert_eq!(kiosk.state(&open_location).await.0, StatusCode::GONE);
    let again = kiosk.create_ok(&open, half_sent.len()).await;
    assert_eq!(
        kiosk.patch(&again, 0, &half_sent).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        kiosk.state(&again).await.2.as_deref(),
        Some(sha(&half_sent).as_str())
    );
    kiosk.appeal(3, &video(3, 1000)).await;
    server.stop().await;
}
