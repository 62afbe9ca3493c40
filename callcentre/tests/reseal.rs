//! A database from before sealing at rest (issue 19): the next start seals its appeals' IINs,
//! phones and texts and the SMS outbox's phones and messages, leaves no plaintext in the
//! database file or its WAL, and the console still reads them.

mod common;

use common::tus::Kiosk;
use common::TestServer;
use senim_callcentre::db::DbError;

const IIN: &str = "880101300010";
const PHONE: &str = "+77011234567";
const TEXT: &str = "The ward nurse asked for money";

fn raw(server: &TestServer, sql: &'static str) -> Vec<String> {
    server
        .state
        .db
        .read(move |c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_from_before_sealing_is_sealed_at_the_next_start() {
    let server = TestServer::start().await;
    let _kiosk = Kiosk::enrol(&server).await;
    // As an older build stored them: in the clear.
    server
        .state
        .db
        .write(|tx| {
            let kiosk: String = tx.query_row("SELECT id FROM kiosks LIMIT 1", [], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, language, \
                 iin, callback_phone, body_text, interrupted, test, status, due_at) \
                 VALUES ('A-OLD00001', ?1, 'care_quality', '2026-11-01T09:00:00.000Z', \
                 '2026-11-01T09:00:01.000Z', 'kk', ?2, ?3, ?4, 0, 0, 'new', \
                 '2026-11-11T09:00:00.000Z')",
                senim_callcentre::db::sql::params![kiosk, IIN, PHONE, TEXT],
            )?;
            tx.execute(
                "INSERT INTO sms_outbox (appeal_id, phone, body, created_at, next_at) \
                 VALUES ('A-OLD00001', ?1, 'Your appeal A-OLD00001 is answered', \
                 '2026-11-02T09:00:00.000Z', '2099-01-01T00:00:00.000Z')",
                [PHONE],
            )?;
            Ok::<_, DbError>(())
        })
        .unwrap();
    let dir = server.stop_keeping_data().await;

    let server = TestServer::start_in(common::test_config(), None, dir).await;
    // Requests are served once the start-up passes are done.
    let r = reqwest::get(format!("{}/api/v1/openapi.json", server.url))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let stored = raw(
        &server,
        "SELECT iin FROM appeals WHERE id = 'A-OLD00001' \
         UNION ALL SELECT callback_phone FROM appeals WHERE id = 'A-OLD00001' \
         UNION ALL SELECT body_text FROM appeals WHERE id = 'A-OLD00001' \
         UNION ALL SELECT phone FROM sms_outbox UNION ALL SELECT body FROM sms_outbox",
    );
    assert_eq!(stored.len(), 5);
    for v in &stored {
        assert!(v.starts_with("age:"), "still in the clear: {v}");
    }
    let opened: Vec<String> = stored
        .iter()
        .map(|v| senim_callcentre::sealing::open_at_rest(Some(v.clone())).unwrap())
        .collect();
    assert_eq!(&opened[..3], [IIN, PHONE, TEXT]);
    assert_eq!(opened[3], PHONE);
    // The SQLite file's bytes (on PostgreSQL the values above are what the server stored).
    let files: &[&str] = if common::postgres::suite_on_postgres() {
        &[]
    } else {
        &["senim.sqlite3", "senim.sqlite3-wal"]
    };
    for file in files {
        let path = server.data().join(file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) if file.ends_with("-wal") => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        for secret in [IIN, PHONE, TEXT] {
            assert!(!contains(&bytes, secret), "{file} holds {secret:?}");
        }
    }
    server.stop().await;
}
