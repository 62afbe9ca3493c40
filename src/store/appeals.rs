//! Appeals: a citizen's appeal committed with its video and outbox row in one transaction, a
//! recording noted before it starts (so a power cut leaves a trace), recordings left unfinished
//! by a crash, and an appeal read back as its wire record.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use senim_protocol::{AppealRecord, SealedFields, Topic, VideoInfo};
use sha2::{Digest, Sha256};

use super::seal::{remove_durably, seal_fields, seal_take, sealed_video_name, SealedTake};
use super::{
    insert_outbox, io, parse_enum, parse_ts, random_from, ts, Store, StoreError, VIDEOS_DIR,
};

/// A video take ready to be committed with its appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVideo {
    /// The finished file, inside [`super::INCOMING_DIR`] (or anywhere on the same file system).
    pub path: PathBuf,
    pub seconds: u32,
}

/// A recording that has started: enough to commit it as an interrupted appeal if the kiosk
/// dies before the citizen sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewRecording {
    /// The take's folder, inside [`super::INCOMING_DIR`].
    pub take_dir: PathBuf,
    pub topic: Topic,
    pub language: String,
    pub iin: Option<String>,
    pub test: bool,
    pub started_at: DateTime<Utc>,
    /// A live call's recording: the call's id, which becomes the appeal's number.
    pub call_id: Option<String>,
}

impl std::fmt::Debug for NewRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRecording")
            .field("topic", &self.topic)
            .field("identified", &self.iin.is_some())
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

/// A recording found unfinished at start-up (the kiosk died while it ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedRecording {
    pub id: i64,
    pub recording: NewRecording,
}

/// An appeal as the citizen left it; the store gives it its number.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAppeal {
    pub topic: Topic,
    pub language: String,
    pub iin: Option<String>,
    pub callback_phone: Option<String>,
    pub text: Option<String>,
    pub video: Option<NewVideo>,
    pub interrupted: bool,
    pub test: bool,
    pub created_at: DateTime<Utc>,
    /// The recording this appeal ends (its row goes in the same transaction).
    pub recording: Option<i64>,
    /// The number made beforehand (a live call's id, told to the call-centre when it rang);
    /// `None`: the store makes one.
    pub appeal_id: Option<String>,
    /// The appeal was a live call of this many seconds.
    pub call_secs: Option<u32>,
}

impl std::fmt::Debug for NewAppeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAppeal")
            .field("topic", &self.topic)
            .field("language", &self.language)
            .field("identified", &self.iin.is_some())
            .field("phone", &self.callback_phone.is_some())
            .field("video", &self.video.as_ref().map(|v| v.seconds))
            .field("test", &self.test)
            .finish()
    }
}

/// A new random appeal number (`A-` and 8 characters without look-alikes).
pub fn new_appeal_id() -> String {
    format!("A-{}", random_from(senim_protocol::APPEAL_ID_ALPHABET, 8))
}

/// A new check code: 80 random bits from the thread's CSPRNG (ChaCha, seeded by the
/// operating system), written as 16 characters of [`senim_protocol::CHECK_CODE_ALPHABET`]
/// (base32, 5 bits each).
pub fn new_check_code() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    (0..16)
        .rev()
        .map(|i| senim_protocol::CHECK_CODE_ALPHABET[((bits >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A committed appeal: its number and the check code that opens its status page.
#[derive(Clone, PartialEq, Eq)]
pub struct CommittedAppeal {
    pub number: String,
    pub check_code: String,
}

impl std::fmt::Debug for CommittedAppeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommittedAppeal")
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

/// Opens (or creates) the file, fsyncs it and its folder.
fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Size and SHA-256 of a file, after making its bytes durable.
fn seal_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    file.sync_all()?;
    Ok((len, hex::encode(hasher.finalize())))
}

impl Store {
    /// [`Store::commit_appeal_with_code`], for callers that need only the number.
    pub fn commit_appeal(&mut self, appeal: &NewAppeal) -> Result<String, StoreError> {
        self.commit_appeal_with_code(appeal).map(|c| c.number)
    }

    /// Commits an appeal and its video durably: the video is fsynced and moved to
    /// `videos/<number>.webm`, the folder fsynced, then the appeal row (with a new check code)
    /// and its outbox row are committed in one transaction. Only then does the citizen see
    /// "sent". On failure nothing is stored and the take stays where it was, so "try again"
    /// can commit it.
    ///
    /// With the call-centre's seal recipient known (issue 19), the take is sealed into
    /// `videos/<number>.webm.age` and the IIN, phone and text are stored only sealed; once the
    /// commit is durable the plaintext take is removed and the WAL checkpointed and truncated,
    /// so nothing under the data folder reads back as the citizen's data.
    pub fn commit_appeal_with_code(
        &mut self,
        appeal: &NewAppeal,
    ) -> Result<CommittedAppeal, StoreError> {
        // Seal (or, with no recipient yet, hash) and fsync the take before taking the write
        // lock (it can be 100 MB). A sealed take is written beside the plaintext one.
        let recipient = self.seal_recipient()?;
        let personal = SealedFields {
            iin: appeal.iin.clone(),
            callback_phone: appeal.callback_phone.clone(),
            text: appeal.text.clone(),
        };
        let sealed_fields = match &recipient {
            Some(r) => seal_fields(r, &personal)?,
            None => None,
        };
        let stored_fields = if recipient.is_some() {
            SealedFields::default()
        } else {
            personal
        };
        let sealed_take = match (&appeal.video, &recipient) {
            (Some(video), Some(r)) => {
                let dest = video.path.with_extension("webm.age.part");
                Some(seal_take(r, &video.path, &dest)?)
            }
            _ => None,
        };
        let sealed = match (&appeal.video, &sealed_take) {
            (Some(_), Some(t)) => Some((t.bytes, t.sha256.clone())),
            (Some(video), None) => {
                Some(seal_file(&video.path).map_err(io("cannot read the recorded video"))?)
            }
            (None, _) => None,
        };
        let result = self.commit_prepared(
            appeal,
            sealed,
            sealed_take.as_ref(),
            sealed_fields,
            stored_fields,
        );
        match (&result, &sealed_take, &appeal.video) {
            (Ok(_), Some(_), Some(video)) => {
                // Committed sealed: the plaintext take goes, and nothing personal stays in the
                // WAL (the recording's row with the IIN was deleted in the commit).
                remove_durably(&video.path)?;
                self.checkpoint_erased()?;
            }
            (Ok(_), None, _) if recipient.is_some() => self.checkpoint_erased()?,
            (Err(_), Some(t), _) => {
                let _ = std::fs::remove_file(&t.path);
            }
            _ => {}
        }
        result
    }

    fn commit_prepared(
        &mut self,
        appeal: &NewAppeal,
        sealed: Option<(u64, String)>,
        sealed_take: Option<&SealedTake>,
        sealed_fields: Option<Vec<u8>>,
        stored: SealedFields,
    ) -> Result<CommittedAppeal, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = loop {
            if let Some(id) = &appeal.appeal_id {
                if !senim_protocol::valid_appeal_id(id) {
                    return Err(StoreError::Corrupt {
                        what: "appeal number",
                        detail: "a number made beforehand must look like A-XXXXXXXX".into(),
                    });
                }
                break id.clone();
            }
            let id = new_appeal_id();
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM appeals WHERE id = ?1)",
                [&id],
                |r| r.get(0),
            )?;
            if !taken {
                break id;
            }
        };
        let check_code = new_check_code();
        let mut moved: Option<(PathBuf, PathBuf)> = None;
        let mut video_cols: (Option<String>, Option<u64>, Option<String>, Option<u32>) =
            (None, None, None, None);
        if let (Some(video), Some((bytes, sha))) = (&appeal.video, sealed) {
            let (name, from) = match sealed_take {
                Some(t) => (sealed_video_name(&id), t.path.clone()),
                None => (format!("{id}.webm"), video.path.clone()),
            };
            let dest = self.data_dir.join(VIDEOS_DIR).join(&name);
            std::fs::rename(&from, &dest).map_err(io("cannot file the recorded video"))?;
            moved = Some((dest, from));
            video_cols = (Some(name), Some(bytes), Some(sha), Some(video.seconds));
        }
        let result = (|| -> Result<(), StoreError> {
            if moved.is_some() {
                fsync_dir(&self.data_dir.join(VIDEOS_DIR))
                    .map_err(io("cannot make the video folder durable"))?;
            }
            tx.execute(
                "INSERT INTO appeals (id, created_at, topic, language, iin, callback_phone, text, \
                 video_file, video_bytes, video_sha256, video_seconds, interrupted, test, \
                 call_secs, check_code, sealed_fields, video_sealed) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
                 ?17)",
                params![
                    id,
                    ts(appeal.created_at),
                    appeal.topic.as_str(),
                    appeal.language,
                    stored.iin,
                    stored.callback_phone,
                    stored.text,
                    video_cols.0,
                    video_cols.1.map(|b| b as i64),
                    video_cols.2,
                    video_cols.3,
                    appeal.interrupted,
                    appeal.test,
                    appeal.call_secs,
                    check_code,
                    sealed_fields,
                    sealed_take.is_some(),
                ],
            )?;
            insert_outbox(
                &tx,
                "appeal",
                &id,
                &format!("appeal-{id}"),
                appeal.created_at,
            )?;
            if let Some(recording) = appeal.recording {
                tx.execute("DELETE FROM recordings WHERE id = ?1", [recording])?;
            }
            Ok(())
        })();
        let result = result.and_then(|()| tx.commit().map_err(StoreError::from));
        if let Err(e) = result {
            if let Some((dest, back)) = moved {
                // Give the take back, so the citizen's "try again" has it.
                if let Err(undo) = std::fs::rename(&dest, &back) {
                    tracing::error!(error = %undo, "could not return an uncommitted video to incoming");
                }
            }
            return Err(e);
        }
        Ok(CommittedAppeal {
            number: id,
            check_code,
        })
    }

    /// Notes that a recording has started (before the camera writes a byte of it).
    pub fn begin_recording(&mut self, r: &NewRecording) -> Result<i64, StoreError> {
        let dir = self.relative_take_dir(&r.take_dir)?;
        self.conn.execute(
            "INSERT INTO recordings (take_dir, started_at, topic, language, iin, test, call_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                dir,
                ts(r.started_at),
                r.topic.as_str(),
                r.language,
                r.iin,
                r.test,
                r.call_id,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The recording was thrown away (re-record, or the citizen left before sending): forget
    /// it and delete its take folder.
    pub fn discard_recording(&mut self, id: i64) -> Result<(), StoreError> {
        let dir: Option<String> = self
            .conn
            .query_row(
                "DELETE FROM recordings WHERE id = ?1 RETURNING take_dir",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(dir) = dir {
            let path = self.incoming_dir().join(dir);
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot delete a discarded recording")(e)),
            }
        }
        // The row held the IIN: zeroed by secure_delete, and out of the WAL now too.
        self.checkpoint_erased()
    }

    /// Recordings a crash or power cut left unfinished, oldest first.
    pub fn unfinished_recordings(&self) -> Result<Vec<UnfinishedRecording>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, take_dir, started_at, topic, language, iin, test, call_id FROM recordings \
             ORDER BY id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, dir, started, topic, language, iin, test, call_id)| {
                Ok(UnfinishedRecording {
                    id,
                    recording: NewRecording {
                        take_dir: self.incoming_dir().join(dir),
                        topic: parse_topic(&topic)?,
                        language,
                        iin,
                        test,
                        started_at: parse_ts(&started)?,
                        call_id,
                    },
                })
            })
            .collect()
    }

    /// A take folder as stored: relative to [`super::INCOMING_DIR`], and inside it.
    fn relative_take_dir(&self, dir: &Path) -> Result<String, StoreError> {
        dir.strip_prefix(self.incoming_dir())
            .ok()
            .and_then(|p| p.to_str())
            .filter(|p| !p.is_empty() && !p.contains(".."))
            .map(str::to_string)
            .ok_or_else(|| StoreError::Corrupt {
                what: "take folder",
                detail: "a recording must be written inside videos/incoming/".into(),
            })
    }

    /// The appeal behind an outbox row, as the call-centre receives it.
    pub(super) fn appeal_record(&self, id: &str) -> Result<AppealRecord, StoreError> {
        let row = self.conn.query_row(
            "SELECT created_at, topic, language, iin, callback_phone, text, video_bytes, \
             video_sha256, video_seconds, interrupted, test, call_secs, check_code, sealed_fields, \
             video_sealed FROM appeals WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<u32>>(8)?,
                    r.get::<_, bool>(9)?,
                    r.get::<_, bool>(10)?,
                    r.get::<_, Option<u32>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, Option<Vec<u8>>>(13)?,
                    r.get::<_, bool>(14)?,
                ))
            },
        )?;
        let (
            created,
            topic,
            language,
            iin,
            phone,
            text,
            bytes,
            sha,
            seconds,
            interrupted,
            test,
            call_secs,
            check_code,
            sealed_fields,
            video_sealed,
        ) = row;
        let video = match (bytes, sha) {
            (Some(bytes), Some(sha256)) => Some(VideoInfo {
                bytes: bytes as u64,
                sha256,
                duration_seconds: seconds.unwrap_or(0),
                sealed: video_sealed,
            }),
            _ => None,
        };
        Ok(AppealRecord {
            appeal_id: id.to_string(),
            topic: parse_topic(&topic)?,
            created_at: parse_ts(&created)?,
            language,
            iin,
            callback_phone: phone,
            text,
            video,
            interrupted,
            test,
            call_secs,
            check_code,
            sealed: sealed_fields.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        })
    }
}

fn parse_topic(s: &str) -> Result<Topic, StoreError> {
    parse_enum(s, "appeal topic")
}
