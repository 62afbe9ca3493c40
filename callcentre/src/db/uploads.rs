//! Rows of tus uploads: creation (at most one open upload per appeal, a bounded number per
//! kiosk), the durable offset, completion, expiry, and what the start-up sweep reads.

use super::sql::{params, Connection, OptionalExtension, Row, Transaction};
use chrono::{DateTime, Utc};

use super::{ts, DbError};
/// An appeal as the upload creation checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealForUpload {
    pub expected_bytes: Option<u64>,
    pub has_video: bool,
}

pub fn appeal_for_upload(
    conn: &Connection,
    appeal_id: &str,
    kiosk_id: &str,
) -> Result<Option<AppealForUpload>, DbError> {
    conn.query_row(
        "SELECT expected_video_bytes, CASE WHEN video_upload_id IS NULL THEN 0 ELSE 1 END \
             FROM appeals \
             WHERE id = ?1 AND kiosk_id = ?2",
        params![appeal_id, kiosk_id],
        |r| {
            Ok(AppealForUpload {
                expected_bytes: r.get::<_, Option<i64>>(0)?.map(|b| b as u64),
                has_video: r.get(1)?,
            })
        },
    )
    .optional()
}

/// A tus upload's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub id: String,
    pub kiosk_id: String,
    pub appeal_id: String,
    pub length: u64,
    pub offset: u64,
    pub metadata: String,
    pub expires_at: String,
    pub completed: bool,
    pub sha256: Option<String>,
    pub expired: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn insert_upload(
    tx: &Transaction<'_>,
    id: &str,
    kiosk_id: &str,
    appeal_id: &str,
    length: u64,
    metadata: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO uploads (id, kiosk_id, appeal_id, length, metadata, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            kiosk_id,
            appeal_id,
            length as i64,
            metadata,
            ts(now),
            ts(expires)
        ],
    )?;
    Ok(())
}

/// (`"offset"` is quoted: a reserved word in PostgreSQL.)
const UPLOAD_COLUMNS: &str = "id, kiosk_id, appeal_id, length, \"offset\", metadata, \
     expires_at, CASE WHEN completed_at IS NULL THEN 0 ELSE 1 END, sha256, \
     CASE WHEN expired_at IS NULL THEN 0 ELSE 1 END";

fn upload_row(r: &Row) -> Result<UploadRow, DbError> {
    Ok(UploadRow {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        appeal_id: r.get(2)?,
        length: r.get::<_, i64>(3)? as u64,
        offset: r.get::<_, i64>(4)? as u64,
        metadata: r.get(5)?,
        expires_at: r.get(6)?,
        completed: r.get(7)?,
        sha256: r.get(8)?,
        expired: r.get(9)?,
    })
}

pub fn get_upload(conn: &Connection, id: &str) -> Result<Option<UploadRow>, DbError> {
    conn.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?1"
    ))?
    .query_row([id], upload_row)
    .optional()
}

/// The appeal's open (unfinished, unexpired) upload, if any — whichever kiosk token made it
/// (a re-enrolled kiosk sends under a new one).
pub fn open_upload(conn: &Connection, appeal_id: &str) -> Result<Option<UploadRow>, DbError> {
    conn.prepare_cached(&format!(
        "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE appeal_id = ?1 \
             AND completed_at IS NULL AND expired_at IS NULL"
    ))?
    .query_row([appeal_id], upload_row)
    .optional()
}

/// What creating an upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewUpload {
    /// The row was inserted.
    Created,
    /// The appeal already has an open upload (unfinished, unexpired): this one.
    Existing(UploadRow),
    /// The kiosk already has this many open uploads (the bound).
    TooMany(u64),
}

/// Inserts an upload unless its appeal already has an open one (answered instead) or the
/// kiosk has `max_open` open uploads already; one transaction, so two creations cannot both
/// pass the checks (the store's unique index on open uploads per appeal backs it up).
#[allow(clippy::too_many_arguments)]
pub fn create_upload(
    tx: &Transaction<'_>,
    id: &str,
    kiosk_id: &str,
    appeal_id: &str,
    length: u64,
    metadata: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
    max_open: u64,
) -> Result<NewUpload, DbError> {
    if let Some(row) = open_upload(tx, appeal_id)? {
        return Ok(NewUpload::Existing(row));
    }
    let open: i64 = tx.query_row(
        "SELECT count(*) FROM uploads WHERE kiosk_id = ?1 \
         AND completed_at IS NULL AND expired_at IS NULL",
        [kiosk_id],
        |r| r.get(0),
    )?;
    if open as u64 >= max_open {
        return Ok(NewUpload::TooMany(open as u64));
    }
    insert_upload(tx, id, kiosk_id, appeal_id, length, metadata, now, expires)?;
    Ok(NewUpload::Created)
}

/// Records the durable offset of an upload and pushes its expiry on.
pub fn set_upload_offset(
    tx: &Transaction<'_>,
    id: &str,
    offset: u64,
    expires: DateTime<Utc>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE uploads SET \"offset\" = ?2, expires_at = ?3 WHERE id = ?1",
        params![id, offset as i64, ts(expires)],
    )?;
    Ok(())
}

/// Marks an upload complete and, when its hash matches what the kiosk declared (or nothing
/// was declared), attaches it to its appeal. Returns whether it was attached.
pub fn complete_upload(
    tx: &Transaction<'_>,
    id: &str,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    tx.execute(
        "UPDATE uploads SET completed_at = ?2, sha256 = ?3 WHERE id = ?1",
        params![id, ts(now), sha256],
    )?;
    let n = tx.execute(
        "UPDATE appeals SET video_upload_id = u.id, video_bytes = u.length, video_sha256 = u.sha256 \
         FROM (SELECT id, appeal_id, length, sha256 FROM uploads WHERE id = ?1) AS u \
         WHERE appeals.id = u.appeal_id AND appeals.video_upload_id IS NULL \
         AND (appeals.expected_video_sha256 IS NULL OR appeals.expected_video_sha256 = u.sha256)",
        [id],
    )?;
    Ok(n == 1)
}

/// The last chunk of an upload: its durable offset (the whole length) and its completion in one
/// transaction, so a kill between them cannot leave a full upload that is never finished.
pub fn finish_upload(
    tx: &Transaction<'_>,
    id: &str,
    length: u64,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    tx.execute(
        "UPDATE uploads SET \"offset\" = ?2 WHERE id = ?1",
        params![id, length as i64],
    )?;
    complete_upload(tx, id, sha256, now)
}

/// Marks one unfinished upload expired (its bytes are gone or about to be deleted).
pub fn expire_upload(tx: &Transaction<'_>, id: &str, now: DateTime<Utc>) -> Result<(), DbError> {
    tx.execute(
        "UPDATE uploads SET expired_at = ?2 WHERE id = ?1 AND completed_at IS NULL \
         AND expired_at IS NULL",
        params![id, ts(now)],
    )?;
    Ok(())
}

/// An upload as the start-up sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptUpload {
    pub row: UploadRow,
    /// It is an appeal's received video (its file must stay).
    pub attached: bool,
}

/// Every upload whose bytes may still be on disk: open ones, and those an appeal holds.
pub fn uploads_to_sweep(conn: &Connection) -> Result<Vec<SweptUpload>, DbError> {
    // One pass over the open uploads (a partial index) and one over the appeals' videos.
    let mut stmt = conn.prepare(&format!(
        "SELECT {UPLOAD_COLUMNS}, 0 FROM uploads \
         WHERE completed_at IS NULL AND expired_at IS NULL \
         UNION ALL \
         SELECT {UPLOAD_COLUMNS}, 1 FROM uploads WHERE id IN \
         (SELECT video_upload_id FROM appeals WHERE video_upload_id IS NOT NULL)"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(SweptUpload {
            row: upload_row(r)?,
            attached: r.get(10)?,
        })
    })?;
    rows.collect::<Result<_, _>>()
}

/// Whether an upload is the received video of an appeal.
pub fn upload_attached(conn: &Connection, id: &str) -> Result<bool, DbError> {
    conn.query_row(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM appeals WHERE video_upload_id = ?1) \
         THEN 1 ELSE 0 END",
        [id],
        |r| r.get(0),
    )
}

pub fn delete_upload(tx: &Transaction<'_>, id: &str) -> Result<(), DbError> {
    tx.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
    Ok(())
}

/// Marks unfinished uploads past their expiry as expired; returns their ids (to delete bytes).
pub fn expire_uploads(tx: &Transaction<'_>, now: DateTime<Utc>) -> Result<Vec<String>, DbError> {
    let mut stmt = tx.prepare(
        "UPDATE uploads SET expired_at = ?1 WHERE completed_at IS NULL AND expired_at IS NULL \
         AND expires_at <= ?1 RETURNING id",
    )?;
    let ids = stmt.query_map([ts(now)], |r| r.get(0))?;
    ids.collect::<Result<_, _>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(conn: &rusqlite::Connection, id: &str, appeal: &str, completed: bool) {
        conn.execute(
            "INSERT INTO uploads (id, kiosk_id, appeal_id, length, metadata, created_at, \
             expires_at, completed_at) VALUES (?1, 'K-1', ?2, 10, '', 'x', 'y', ?3)",
            rusqlite::params![id, appeal, completed.then_some("z")],
        )
        .unwrap();
    }

    #[test]
    fn an_older_store_keeps_only_the_newest_open_upload_of_each_appeal() {
        // Older builds made a new upload per try (rows alone here: foreign keys off).
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        super::super::migrations().to_version(&mut conn, 4).unwrap();
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        insert(&conn, "old", "A-1", false);
        insert(&conn, "new", "A-1", false);
        insert(&conn, "done", "A-1", true);
        insert(&conn, "other", "A-2", false);
        super::super::migrations().to_latest(&mut conn).unwrap();
        let open: Vec<String> = conn
            .prepare(
                "SELECT id FROM uploads WHERE completed_at IS NULL AND expired_at IS NULL \
                 ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(open, ["new", "other"]);
        // And the store refuses a second open upload of an appeal.
        let conn = Connection::sqlite(conn);
        conn.begin_write().unwrap();
        let tx = Transaction::new(&conn);
        let now = Utc::now();
        assert!(insert_upload(&tx, "again", "K-1", "A-1", 10, "", now, now).is_err());
    }
}
