//! `senim-callcentre migrate`: brings the configured store's schema up to date — the shared
//! PostgreSQL database of `[database] url` (which servers never migrate themselves), or the
//! embedded SQLite file — and says the version before and after. Running it again changes
//! nothing. With `--from-sqlite DATA_DIR` it then copies a single server's data there: the rows
//! into the empty PostgreSQL database, the finished videos into the videos' `[storage]`.

use std::path::Path;

use anyhow::Context;

use crate::config::Config;
use crate::db::{copy, migrate, sql::Connection};
use object_store::PutPayload;

use crate::videos::{S3Videos, Videos};

/// Runs `migrate`.
pub(super) fn run(config: &Config, from_sqlite: Option<&Path>) -> anyhow::Result<()> {
    let (store, done) = match config.database.postgres_url() {
        Some(url) => ("PostgreSQL", migrate::postgres(url)?),
        None if from_sqlite.is_some() => anyhow::bail!(
            "--from-sqlite copies a single server's data into PostgreSQL: set [database] url \
             or give --database-url postgres://…"
        ),
        None => ("SQLite", migrate::sqlite_file(&config.server.data_dir)?),
    };
    if done.before == done.after {
        println!(
            "The {store} schema is up to date (version {}); nothing to do.",
            done.after
        );
    } else {
        println!(
            "The {store} schema went from version {} to version {}.",
            done.before, done.after
        );
    }
    match (from_sqlite, config.database.postgres_url()) {
        (Some(dir), Some(url)) => copy_from_sqlite(config, dir, url),
        _ => Ok(()),
    }
}

/// Copies the single server's data folder `dir` into the PostgreSQL database `url` and the
/// configured video store. The videos go first (an object no row names is swept at the next
/// start), the rows last, in one transaction: a copy that fails leaves the database empty, to
/// be run again.
fn copy_from_sqlite(config: &Config, dir: &Path, url: &str) -> anyhow::Result<()> {
    if !dir.join("senim.sqlite3").is_file() {
        return Err(copy::CopyError::NoSqlite {
            dir: dir.to_path_buf(),
        }
        .into());
    }
    let before = migrate::sqlite_file(dir)?;
    if before.before != before.after {
        println!(
            "The SQLite file in {} went from schema {} to {} first.",
            dir.display(),
            before.before,
            before.after
        );
    }
    let sqlite = copy::open_sqlite(dir)?;
    let pg = Connection::postgres(url)?;
    copy::check_empty(&pg)?;

    let videos = Videos::open(&config.storage, &config.server.data_dir)?;
    let ids = copy::finished_videos(&sqlite)?;
    let (sent, absent) = copy_videos(&videos, &dir.join("uploads"), &ids)?;
    let copied = copy::copy_rows(&sqlite, &pg, chrono::Utc::now())?;

    let rows: usize = copied.tables.iter().map(|(_, n)| n).sum();
    println!(
        "Copied {rows} rows from {} into PostgreSQL:",
        dir.join("senim.sqlite3").display()
    );
    for (table, n) in copied.tables.iter().filter(|(_, n)| *n > 0) {
        println!("  {table}: {n}");
    }
    println!("Finished videos copied to {}: {sent}.", describe(&videos));
    if absent > 0 {
        println!(
            "Finished videos no longer in {} (erased by retention or by hand): {absent}; their \
             appeals show no video, as before.",
            dir.join("uploads").display()
        );
    }
    if copied.expired_uploads > 0 {
        println!(
            "Uploads still open, now expired: {}; their kiosks send those videos again from \
             the start.",
            copied.expired_uploads
        );
    }
    println!(
        "Next: copy signing.key and seal.keys from {} into every server's data folder (the \
         servers refuse other keys), then start the servers.",
        dir.display()
    );
    let bundles = copied
        .tables
        .iter()
        .any(|(t, n)| t == "update_bundles" && *n > 0);
    if bundles {
        println!(
            "The update bundles are kept in each server's data folder: publish them again on \
             every server (`senim-callcentre update publish`)."
        );
    }
    Ok(())
}

/// Copies the finished videos `ids` from the folder `from` into `videos`; how many were sent
/// and how many were not in the folder.
fn copy_videos(videos: &Videos, from: &Path, ids: &[String]) -> anyhow::Result<(usize, usize)> {
    let (mut sent, mut absent) = (0, 0);
    let mut runtime = None;
    for id in ids {
        let source = from.join(id);
        let mut file = match std::fs::File::open(&source) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                absent += 1;
                continue;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the video {}", source.display()))
            }
        };
        match videos {
            Videos::Folder(dir) => {
                let target = dir.join(id);
                if same_file(&source, &target) {
                    sent += 1;
                    continue;
                }
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let mut out = std::fs::File::create(&target)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                std::io::copy(&mut file, &mut out)
                    .and_then(|_| out.sync_all())
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            Videos::S3(s3) => {
                drop(file);
                let runtime = match &runtime {
                    Some(r) => r,
                    None => runtime.insert(
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .context("cannot start the object store's client")?,
                    ),
                };
                runtime
                    .block_on(send_object(s3, &source, id))
                    .context("cannot copy a video into the object store")?;
            }
            Videos::Unavailable(why) => anyhow::bail!("videos cannot be stored: {why}"),
        }
        sent += 1;
    }
    Ok((sent, absent))
}

/// The parts of a video sent to the object store (S3 wants at least 5 MiB but for the last).
const PART: usize = 8 * 1024 * 1024;

/// Sends the file `source` as the finished video `id`, in one multipart upload (aborted if
/// anything fails, so no half video is left).
async fn send_object(s3: &S3Videos, source: &Path, id: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(source)
        .await
        .with_context(|| format!("cannot read the video {}", source.display()))?;
    let mut upload = s3.store().put_multipart(&s3.video_key(id)).await?;
    let sent = async {
        loop {
            let mut part = Vec::with_capacity(PART);
            while part.len() < PART {
                let n = (&mut file)
                    .take((PART - part.len()) as u64)
                    .read_to_end(&mut part)
                    .await?;
                if n == 0 {
                    break;
                }
            }
            if part.is_empty() {
                break;
            }
            let last = part.len() < PART;
            upload.put_part(PutPayload::from(part)).await?;
            if last {
                break;
            }
        }
        anyhow::Ok(())
    }
    .await;
    match sent {
        Ok(()) => {
            upload.complete().await?;
            Ok(())
        }
        Err(e) => {
            let _ = upload.abort().await;
            Err(e)
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn describe(videos: &Videos) -> String {
    match videos {
        Videos::Folder(dir) => dir.display().to_string(),
        Videos::S3(s3) => s3.describe(),
        Videos::Unavailable(_) => "nowhere".into(),
    }
}
