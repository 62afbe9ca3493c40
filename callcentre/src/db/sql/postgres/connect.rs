//! Opening PostgreSQL connections: the `[database] url` parsed (with libpq's `sslrootcert`
//! taken out, which tokio-postgres does not know, and the password from `PGPASSWORD` or
//! `~/.pgpass`, as libpq finds it), TLS, and the one background thread whose current-thread
//! runtime drives every connection's I/O task.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{error_text, PgError};

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Session settings unless the URL gives its own `options`: a writer waits at most 30 s for
/// the writers' lock (SQLite's writer gives up after 5 s; the server answers an error rather
/// than hanging), and a session left idle inside a transaction (its server frozen or cut off)
/// is ended after a minute, which frees the lock for the other servers.
const SESSION_OPTIONS: &str = "-c lock_timeout=30s -c idle_in_transaction_session_timeout=60s";

/// A peer that vanished without closing is noticed after this much silence (TCP keepalive).
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// The background thread's runtime, started on first use.
fn runtime() -> Result<tokio::runtime::Handle, PgError> {
    static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let _guard = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| PgError::Thread(e.to_string()))?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("senim-postgres".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(|e| PgError::Thread(e.to_string()))?;
    let _ = HANDLE.set(handle.clone());
    Ok(handle)
}

/// Where a URL points, without its password (for messages).
pub(crate) fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// The password libpq would use when the URL has none: `PGPASSWORD`, else the first matching
/// line of `PGPASSFILE` or `~/.pgpass` (`host:port:database:user:password`, `*` matches all).
fn password_from_environment(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        config.get_dbname().unwrap_or(""),
        config.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line);
            (fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(want)
                    .all(|(f, w)| f == "*" || f == w))
            .then(|| fields[4].clone())
        })
}

/// One `.pgpass` line's fields (`:` separates, `\` escapes).
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

/// TLS for `sslmode=require`: rustls, trusting the CA certificates of `sslrootcert` (a PEM
/// file, as libpq's), else the web's roots (as the SMS client does). The server's certificate
/// is always checked, name included.
fn tls_connector(rootcert: Option<&str>) -> Result<MakeRustlsConnect, PgError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match rootcert {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                PgError::Url(format!(
                    "sslrootcert {path}: {e}; it must be a readable PEM file of the CA \
                     certificates that signed the server's"
                ))
            };
            for cert in
                rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))?
            {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"no certificate in it"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| PgError::Url(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A parsed `[database] url`, ready to open connections.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    tls: Option<MakeRustlsConnect>,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, PgError> {
        // libpq's sslrootcert, which tokio-postgres does not know: taken out here.
        let (url, rootcert) = take_query_option(url, "sslrootcert");
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PgError::Url(error_text(&e)))?;
        if config.get_password().is_none() {
            if let Some(p) = password_from_environment(&config) {
                config.password(p);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("senim-callcentre");
        if config.get_options().is_none() {
            config.options(SESSION_OPTIONS);
        }
        config.keepalives(true);
        config.keepalives_idle(KEEPALIVE_IDLE);
        // Without sslmode=require the connection is plain: `prefer` would need a certificate
        // this client can check anyway.
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Require => Some(tls_connector(rootcert.as_deref())?),
            _ => {
                config.ssl_mode(tokio_postgres::config::SslMode::Disable);
                None
            }
        };
        Ok(Target { config, tls })
    }

    pub(crate) fn describe(&self) -> String {
        describe(&self.config)
    }

    /// The connection settings (password from `~/.pgpass`/`PGPASSWORD` filled in), for a
    /// connection of another part (the live bus's LISTEN).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The TLS connector when the URL asks `sslmode=require`.
    pub(crate) fn tls(&self) -> Option<&MakeRustlsConnect> {
        self.tls.as_ref()
    }

    /// Opens one client; its I/O task runs on the background thread.
    pub(super) fn connect(&self) -> Result<Client, PgError> {
        let handle = runtime()?;
        let config = self.config.clone();
        let tls = self.tls.clone();
        let task = handle.spawn(async move {
            match tls {
                None => {
                    let (client, conn) = config.connect(NoTls).await?;
                    tokio::spawn(drive(conn));
                    Ok(client)
                }
                Some(tls) => {
                    let (client, conn) = config.connect(tls).await?;
                    tokio::spawn(drive(conn));
                    Ok(client)
                }
            }
        });
        match futures_executor::block_on(task) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => {
                let mut reason = error_text(&e);
                if self.tls.is_some() && reason.contains("certificate") {
                    reason.push_str(
                        " (with sslmode=require the server's certificate must be signed by a \
                         public CA or by one in the PEM file of sslrootcert=PATH in the URL)",
                    );
                }
                Err(PgError::Connect {
                    target: self.describe(),
                    reason,
                })
            }
            Err(e) => Err(PgError::Thread(e.to_string())),
        }
    }
}

/// `url` without its query option `name`, and that option's value (percent-decoded).
fn take_query_option(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((k, v)) if k == name => {
                value = Some(percent_decode(v));
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_string(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs one connection's I/O until it closes.
async fn drive<S, T>(conn: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = conn.await {
        tracing::warn!(error = %error_text(&e), "a PostgreSQL connection closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        assert_eq!(
            take_query_option(
                "postgres://u@h/db?sslmode=require&sslrootcert=/etc/pg%20ca.pem",
                "sslrootcert"
            ),
            (
                "postgres://u@h/db?sslmode=require".to_string(),
                Some("/etc/pg ca.pem".to_string())
            )
        );
        assert_eq!(
            take_query_option("postgres://u@h/db?sslrootcert=x", "sslrootcert"),
            ("postgres://u@h/db".to_string(), Some("x".to_string()))
        );
        assert_eq!(
            take_query_option("postgres://u@h/db", "sslrootcert"),
            ("postgres://u@h/db".to_string(), None)
        );
    }

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(
            split_pgpass(r"db.example:5432:*:senim:pa\:ss\\w"),
            ["db.example", "5432", "*", "senim", r"pa:ss\w"]
        );
    }
}
