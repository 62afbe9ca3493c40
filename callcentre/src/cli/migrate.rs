//! `senim-callcentre migrate`: brings the configured store's schema up to date — the shared
//! PostgreSQL database of `[database] url` (which servers never migrate themselves), or the
//! embedded SQLite file — and says the version before and after. Running it again changes
//! nothing. With `--from-sqlite DATA_DIR` it then copies a single server's data there: the rows
//! into the empty PostgreSQL database, the finished videos and the published update bundles
//! into the videos' `[storage]`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;
use crate::db::{copy, migrate, sql::Connection};
use crate::videos::Videos;

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
/// configured video store. The videos and bundles go first (an object no row names is swept at the next
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
    let (sent, absent) = copy_files(&videos, &config.server.data_dir, dir, Kind::Video, &ids)?;
    let shas = copy::published_bundles(&sqlite)?;
    let (bundles, _) = copy_files(&videos, &config.server.data_dir, dir, Kind::Bundle, &shas)?;
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
    if !shas.is_empty() {
        println!(
            "Update bundles copied to {}: {bundles} of {}.",
            match &videos {
                Videos::S3(s3) => s3.describe(),
                _ => config.server.data_dir.join("updates").display().to_string(),
            },
            shas.len()
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
    if !shas.is_empty() && matches!(videos, Videos::Folder(_)) {
        println!(
            "Without an object store each server serves the update bundles of its own data \
             folder: copy {} to the other servers too.",
            config.server.data_dir.join("updates").display()
        );
    }
    Ok(())
}

/// What a copied file is.
#[derive(Clone, Copy)]
enum Kind {
    /// A finished video, `<data>/uploads/<id>`.
    Video,
    /// A published update bundle, `<data>/updates/<sha256>.raucb`.
    Bundle,
}

impl Kind {
    fn file(self, data_dir: &Path, name: &str) -> PathBuf {
        match self {
            Kind::Video => data_dir.join("uploads").join(name),
            Kind::Bundle => crate::updates::bundle_path(data_dir, name),
        }
    }
}

/// Copies the files `names` of kind `kind` from the data folder `from` into `videos` (the
/// object store, or this server's data folder `data_dir`); how many were copied and how many
/// were not in `from`.
fn copy_files(
    videos: &Videos,
    data_dir: &Path,
    from: &Path,
    kind: Kind,
    names: &[String],
) -> anyhow::Result<(usize, usize)> {
    let (mut sent, mut absent) = (0, 0);
    let mut runtime = None;
    for name in names {
        let source = kind.file(from, name);
        if !source.is_file() {
            absent += 1;
            continue;
        }
        match videos {
            Videos::Folder(_) => {
                let target = kind.file(data_dir, name);
                if !same_file(&source, &target) {
                    copy_file(&source, &target)?;
                }
            }
            Videos::S3(s3) => {
                let runtime = match &runtime {
                    Some(r) => r,
                    None => runtime.insert(
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .context("cannot start the object store's client")?,
                    ),
                };
                let key = match kind {
                    Kind::Video => s3.video_key(name),
                    Kind::Bundle => s3.bundle_key(name),
                };
                runtime
                    .block_on(s3.put_file(&key, &source))
                    .with_context(|| {
                        format!("cannot copy {} into the object store", source.display())
                    })?;
            }
            Videos::Unavailable(why) => anyhow::bail!("videos cannot be stored: {why}"),
        }
        sent += 1;
    }
    Ok((sent, absent))
}

/// Copies `source` to `target` (its folder made), synced to the disk.
fn copy_file(source: &Path, target: &Path) -> anyhow::Result<()> {
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut input =
        std::fs::File::open(source).with_context(|| format!("cannot read {}", source.display()))?;
    let mut out = std::fs::File::create(target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    std::io::copy(&mut input, &mut out)
        .and_then(|_| out.sync_all())
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok(())
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
