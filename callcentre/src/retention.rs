//! Retention: the personal data of appeals closed more than `[retention] days` ago is erased
//! (IIN, phone, text, answer, call notes, history notes, SMS, status links, the video file or
//! object);
//! numbers, dates, topic, site, status and durations stay for the figures. Run by
//! `senim-callcentre purge [--dry-run]` and daily by the server ([`run_daily`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{self, Db, DbError};
use crate::state::AppState;
use crate::videos::Videos;

/// How long after start the server's first purge runs (then every 24 hours).
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(10 * 60);
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// What a purge erased, or would erase (`dry_run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub dry_run: bool,
    /// Appeals closed at or before this time are erased.
    pub cutoff: DateTime<Utc>,
    /// Appeals whose personal data was (would be) erased.
    pub appeals: usize,
    /// Video files deleted (that would be deleted).
    pub videos: usize,
    /// Their size in bytes.
    pub bytes: u64,
}

/// Why a purge failed.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(
        "the personal data is erased in the database, but the video {path} could not be \
         deleted: {source}. Check the permissions of the uploads folder; the next purge tries \
         again"
    )]
    DeleteVideo {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Erases (or with `dry_run` only counts) the personal data of appeals closed more than
/// `days` days before `now`, in one transaction, with one `purge` row in the audit when any
/// appeal was erased; then deletes their video files from `uploads_dir` (a missing file is
/// fine). Video files of appeals erased earlier that are still there (a deletion that failed,
/// a crash after commit) are deleted too. Running it again erases nothing more.
pub fn purge(
    db: &Db,
    uploads_dir: &Path,
    days: u32,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, PurgeError> {
    let videos = Videos::Folder(uploads_dir.to_path_buf());
    purge_videos(db, &videos, days, now, dry_run)
}

/// [`purge`] with the videos wherever `[storage]` keeps them (the data folder or an object
/// store); from a thread that may block.
pub fn purge_videos(
    db: &Db,
    videos: &Videos,
    days: u32,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, PurgeError> {
    let cutoff = now - chrono::Duration::days(i64::from(days));
    let (appeals, upload_ids) = if dry_run {
        db.read(|c| {
            let due = db::due_erasures(c, cutoff)?;
            let mut ids = db::erased_upload_ids(c)?;
            ids.extend(due.iter().flat_map(|d| d.upload_ids.iter().cloned()));
            Ok((due.len(), ids))
        })?
    } else {
        db.write(|tx| {
            let due = db::due_erasures(tx, cutoff)?;
            let mut erased = 0;
            for d in &due {
                if db::erase_appeal(tx, &d.appeal_id, now)? {
                    erased += 1;
                }
            }
            if erased > 0 {
                let detail = format!(
                    "erased the personal data of {erased} appeals closed before {} \
                     ({days} days)",
                    db::ts(cutoff)
                );
                db::audit(
                    tx,
                    &db::AuditEntry {
                        actor: Some(db::RETENTION_ACTOR),
                        action: "purge",
                        detail: Some(&detail),
                        ..db::AuditEntry::default()
                    },
                    now,
                )?;
            }
            // Every upload of an erased appeal, those just erased included.
            Ok::<_, DbError>((erased, db::erased_upload_ids(tx)?))
        })?
    };
    if !dry_run && appeals > 0 && !db.checkpoint_erased()? {
        tracing::warn!("the WAL could not be truncated after the purge (a reader is busy); the erased values leave it at the next checkpoint");
    }
    let mut report = PurgeReport {
        dry_run,
        cutoff,
        appeals,
        videos: 0,
        bytes: 0,
    };
    let mut first_error = None;
    for id in upload_ids {
        let removed = if dry_run {
            videos.video_size_blocking(&id)
        } else {
            videos.remove_video_blocking(&id)
        };
        let size = match removed {
            Ok(Some(size)) => size,
            Ok(None) => continue,
            Err(source) => {
                tracing::error!(upload = %id, error = %source, "retention could not delete a video");
                let path = videos.name_of(&id);
                first_error.get_or_insert(PurgeError::DeleteVideo { path, source });
                continue;
            }
        };
        report.videos += 1;
        report.bytes += size;
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The server's purge, off the async threads, with its outcome logged (counts only).
pub async fn purge_now(state: &Arc<AppState>) -> Result<PurgeReport, PurgeError> {
    let db = Arc::clone(&state.db);
    let videos = state.videos.clone();
    let days = state.config.retention.days;
    let report =
        tokio::task::spawn_blocking(move || purge_videos(&db, &videos, days, Utc::now(), false))
            .await
            .map_err(|_| PurgeError::Db(DbError::Task))??;
    if report.appeals > 0 || report.videos > 0 {
        tracing::info!(
            appeals = report.appeals,
            videos = report.videos,
            bytes = report.bytes,
            "retention erased the personal data of closed appeals"
        );
    }
    Ok(report)
}

/// The server's daily purge: first [`FIRST_RUN_AFTER`] start, then every 24 hours. Errors are
/// logged and the next run tries again.
pub async fn run_daily(state: Arc<AppState>) {
    tokio::time::sleep(FIRST_RUN_AFTER).await;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = purge_now(&state).await {
            tracing::error!(error = %e, "retention purge failed; it runs again in 24 hours");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Days;

    struct Store {
        dir: tempfile::TempDir,
        db: Db,
    }

    impl Store {
        fn uploads(&self) -> PathBuf {
            self.dir.path().join("uploads")
        }
    }

    /// A kiosk and four appeals, each with IIN, phone, text, answer, call notes, a video
    /// file, a note in its history, an SMS and a status link: closed 400 days ago; closed
    /// before schema 4 (no `closed_at`, a history row 500 days ago); closed 10 days ago; open
    /// for 800 days.
    fn store(now: DateTime<Utc>) -> Store {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("uploads")).unwrap();
        let ago = |days: i64| db::ts(now - Days::days(days));
        let appeals: [(&str, &str, Option<String>, Option<String>); 4] = [
            ("A-OLD", "closed", Some(ago(400)), None),
            ("A-PRE4", "closed", None, Some(ago(500))),
            ("A-RECENT", "closed", Some(ago(10)), None),
            ("A-OPEN", "in_progress", None, None),
        ];
        db.write(|tx| {
            tx.execute(
                "INSERT INTO kiosks (id, site, token_hash, enrolled_at) \
                 VALUES ('K-1', 'Clinic', 't', '2024-01-01T00:00:00.000Z')",
                [],
            )?;
            for (id, status, closed, event) in &appeals {
                let upload = format!("u-{id}");
                tx.execute(
                    "INSERT INTO appeals (id, kiosk_id, topic, created_at, received_at, \
                     language, iin, callback_phone, body_text, interrupted, test, status, \
                     due_at, video_upload_id, video_bytes, answer_text, answer_language, \
                     answered_at, answered_by, closed_at, call_notes) \
                     VALUES (?1, 'K-1', 'complaint', ?2, ?2, 'ru', '880101300010', \
                     '+77011234567', 'My complaint', 0, 0, ?3, ?4, ?5, 7, 'Our answer', 'ru', \
                     ?6, 'aigerim', ?7, 'Called back')",
                    crate::db::sql::params![
                        id,
                        ago(800),
                        status,
                        ago(785),
                        upload,
                        ago(790),
                        closed
                    ],
                )?;
                tx.execute(
                    "INSERT INTO uploads (id, kiosk_id, appeal_id, length, \"offset\", metadata, \
                     created_at, expires_at, completed_at) \
                     VALUES (?1, 'K-1', ?2, 7, 7, '', ?3, ?3, ?3)",
                    crate::db::sql::params![upload, id, ago(800)],
                )?;
                tx.execute(
                    "INSERT INTO appeal_events (appeal_id, at, operator, action, note) \
                     VALUES (?1, ?2, 'aigerim', 'note', 'Citizen said her phone is +7701')",
                    crate::db::sql::params![id, ago(795)],
                )?;
                if let Some(at) = event {
                    tx.execute(
                        "INSERT INTO appeal_events (appeal_id, at, operator, action, \
                         from_status, to_status) VALUES (?1, ?2, 'aigerim', 'status', \
                         'in_progress', 'closed')",
                        crate::db::sql::params![id, at],
                    )?;
                }
                tx.execute(
                    "INSERT INTO sms_outbox (appeal_id, phone, body, created_at, next_at) \
                     VALUES (?1, '+77011234567', 'Answered: link', ?2, ?2)",
                    crate::db::sql::params![id, ago(790)],
                )?;
                tx.execute(
                    "INSERT INTO status_links (code_hash, appeal_id, created_at) \
                     VALUES (?1, ?1, ?2)",
                    crate::db::sql::params![id, ago(790)],
                )?;
            }
            Ok::<_, DbError>(())
        })
        .unwrap();
        for (id, ..) in &appeals {
            std::fs::write(
                dir.path().join("uploads").join(format!("u-{id}")),
                b"webm123",
            )
            .unwrap();
        }
        Store { dir, db }
    }

    /// What retention touches on one appeal, as (iin, phone, text, answer, call notes,
    /// erased, history notes, SMS phone, status links).
    type Personal = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        i64,
        String,
        i64,
    );

    fn personal(db: &Db, id: &str) -> Personal {
        db.read(|c| {
            let a = c.query_row(
                "SELECT iin, callback_phone, body_text, answer_text, call_notes, \
                 erased_at IS NOT NULL FROM appeals WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )?;
            let notes: i64 = c.query_row(
                "SELECT count(*) FROM appeal_events WHERE appeal_id = ?1 AND note IS NOT NULL",
                [id],
                |r| r.get(0),
            )?;
            let sms: String = c.query_row(
                "SELECT phone FROM sms_outbox WHERE appeal_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            let links: i64 = c.query_row(
                "SELECT count(*) FROM status_links WHERE appeal_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            Ok((a.0, a.1, a.2, a.3, a.4, a.5, notes, sms, links))
        })
        .unwrap()
    }

    fn kept(db: &Db, id: &str) -> bool {
        personal(db, id)
            == (
                Some("880101300010".into()),
                Some("+77011234567".into()),
                Some("My complaint".into()),
                Some("Our answer".into()),
                Some("Called back".into()),
                false,
                1,
                "+77011234567".into(),
                1,
            )
    }

    fn purges(db: &Db) -> i64 {
        db.read(|c| {
            c.query_row(
                "SELECT count(*) FROM audit WHERE action = 'purge'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap()
    }

    #[test]
    fn appeals_closed_longer_than_the_retention_lose_their_personal_data_only() {
        let now = Utc::now();
        let s = store(now);
        let video = |id: &str| s.uploads().join(format!("u-{id}")).exists();

        // A dry run says what would go and changes nothing.
        let dry = purge(&s.db, &s.uploads(), 365, now, true).unwrap();
        assert_eq!((dry.appeals, dry.videos, dry.bytes), (2, 2, 14));
        for id in ["A-OLD", "A-PRE4", "A-RECENT", "A-OPEN"] {
            assert!(kept(&s.db, id), "{id} untouched by the dry run");
            assert!(video(id));
        }
        assert_eq!(purges(&s.db), 0);

        let done = purge(&s.db, &s.uploads(), 365, now, false).unwrap();
        assert_eq!((done.appeals, done.videos, done.bytes), (2, 2, 14));
        for id in ["A-OLD", "A-PRE4"] {
            assert_eq!(
                personal(&s.db, id),
                (None, None, None, None, None, true, 0, String::new(), 0),
                "{id} erased"
            );
            assert!(!video(id), "{id}'s video is deleted");
            let events = s.db.read(|c| db::appeal_events(c, id)).unwrap();
            let last = events.last().unwrap();
            assert_eq!(
                (last.action.as_str(), last.operator.as_str()),
                ("erase", db::RETENTION_ACTOR)
            );
            let a = s.db.read(|c| db::get_appeal(c, id)).unwrap().unwrap();
            // What the figures need stays.
            assert_eq!(
                (a.status.as_str(), a.topic.as_str(), a.site.as_str()),
                ("closed", "complaint", "Clinic")
            );
            assert!(a.video_upload_id.is_none());
            assert_eq!(a.video_bytes, Some(7));
        }
        for id in ["A-RECENT", "A-OPEN"] {
            assert!(kept(&s.db, id), "{id} kept");
            assert!(video(id));
        }
        assert_eq!(purges(&s.db), 1, "one audit row for the run");
        let (answered, closed): (i64, i64) =
            s.db.read(|c| {
                c.query_row(
                    "SELECT count(answered_at), count(closed_at) FROM appeals",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            })
            .unwrap();
        assert_eq!((answered, closed), (4, 2), "dates stay for the figures");

        // Still counted by the figures.
        let tz = chrono_tz::Asia::Almaty;
        let today = now.with_timezone(&tz).date_naive();
        let months = crate::figures::Months::parse(
            Some(&(today - Days::days(900)).format("%Y-%m").to_string()),
            None,
            today,
        )
        .unwrap();
        let viewer = crate::figures::Viewer::default();
        let r =
            s.db.read(|c| crate::figures::report(c, months, tz, &viewer, now))
                .unwrap();
        assert_eq!(r.total.appeals, 4);
        assert_eq!(r.total.answered, 4);

        // Again: nothing more.
        let again = purge(&s.db, &s.uploads(), 365, now, false).unwrap();
        assert_eq!((again.appeals, again.videos), (0, 0));
        assert_eq!(purges(&s.db), 1);
        assert!(kept(&s.db, "A-RECENT"));
    }

    #[test]
    fn a_video_already_missing_is_fine_and_a_left_over_one_is_deleted_later() {
        let now = Utc::now();
        let s = store(now);
        std::fs::remove_file(s.uploads().join("u-A-OLD")).unwrap();
        let done = purge(&s.db, &s.uploads(), 365, now, false).unwrap();
        assert_eq!((done.appeals, done.videos), (2, 1));
        // A file of an erased appeal that is back (a deletion that failed) goes next time.
        std::fs::write(s.uploads().join("u-A-OLD"), b"x").unwrap();
        let again = purge(&s.db, &s.uploads(), 365, now, false).unwrap();
        assert_eq!((again.appeals, again.videos), (0, 1));
        assert!(!s.uploads().join("u-A-OLD").exists());
    }
}
