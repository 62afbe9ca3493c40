//! The PostgreSQL bus: one connection of its own (`application_name` [`APPLICATION`]) that
//! `LISTEN`s on [`CHANNEL`] and sends this server's facts with `pg_notify`, in frames
//! (`frame`). After a loss it reconnects with backoff (¼ s doubling to 10 s), sends what
//! queued meanwhile, and asks the others to re-announce what they know (`Fact::Sync`).

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::frame::{self, Reassembly};
use super::{Envelope, Fact, Node};

/// The NOTIFY channel every call-centre server of one database listens on.
pub const CHANNEL: &str = "senim_live";

/// How the bus's connection shows in `pg_stat_activity` (followed by the server's id).
pub const APPLICATION: &str = "senim-callcentre live bus";

/// A NOTIFY not done within this means the connection is dead (TCP may take many minutes
/// to say so): it is made again and the payload sent then.
const SEND_WITHIN: Duration = Duration::from_secs(10);

/// Why the bus's connection ended (it is made again).
#[derive(Debug, thiserror::Error)]
enum BusError {
    #[error("cannot reach PostgreSQL for the live bus: {0} (check [database] url and that the database is up)")]
    Connect(tokio_postgres::Error),
    #[error("the live bus connection broke: {0}")]
    Lost(tokio_postgres::Error),
    #[error("the live bus connection was closed by the server")]
    Closed,
    #[error(
        "PostgreSQL did not take a NOTIFY within {SEND_WITHIN:?}; the connection is made again"
    )]
    Stuck,
}

enum Ended {
    /// The server is stopping (its state is gone, or nothing can publish any more).
    Stopping,
    Lost(BusError),
}

struct Bus<N> {
    config: tokio_postgres::Config,
    /// TLS for `sslmode=require`, as the store's connections.
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    outgoing: mpsc::Receiver<Envelope>,
    state: Weak<N>,
    /// Payloads not sent yet, in order (kept over a reconnection).
    held: VecDeque<String>,
    next_message: u64,
    reassembly: Reassembly,
    me: String,
}

/// Runs the bus until the server stops.
pub(super) async fn run<N: Node>(url: String, outgoing: mpsc::Receiver<Envelope>, state: Weak<N>) {
    // The store's own parsing: the password from ~/.pgpass or PGPASSWORD, TLS for
    // sslmode=require (sslrootcert= too), exactly as the store's connections.
    let target = match crate::db::sql::postgres::Target::parse(&url) {
        Ok(target) => target,
        Err(e) => {
            // Checked when the store connected; this is not reached with a valid file.
            tracing::error!(error = %e, "[database] url cannot be used: live facts stay on this server");
            return;
        }
    };
    let tls = target.tls().cloned();
    let mut config = target.config().clone();
    let me = match state.upgrade() {
        Some(s) => s.bus().id().to_string(),
        None => return,
    };
    config
        .application_name(format!("{APPLICATION} {me}"))
        .connect_timeout(SEND_WITHIN)
        .keepalives_idle(Duration::from_secs(30))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3);
    let mut bus = Bus {
        config,
        tls,
        outgoing,
        state,
        held: VecDeque::new(),
        next_message: 0,
        reassembly: Reassembly::default(),
        me,
    };
    let mut backoff = Duration::from_millis(250);
    loop {
        match bus.session(&mut backoff).await {
            Ended::Stopping => return,
            Ended::Lost(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "live bus: reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Runs the connection's I/O, handing each notification's payload to `incoming`; the error
/// that ended it, if one did.
fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    incoming: mpsc::UnboundedSender<String>,
) -> tokio::task::JoinHandle<Option<tokio_postgres::Error>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if incoming.send(n.payload().to_string()).is_err() {
                        return None;
                    }
                }
                Ok(_) => {}
                Err(e) => return Some(e),
            }
        }
        None
    })
}

impl<N: Node> Bus<N> {
    /// One connection's life: listen, send what is held, ask for a re-announcement, then
    /// carry facts both ways until it breaks.
    async fn session(&mut self, backoff: &mut Duration) -> Ended {
        let (incoming_tx, mut incoming) = mpsc::unbounded_channel::<String>();
        let connected = match &self.tls {
            None => match self.config.connect(NoTls).await {
                Ok((client, connection)) => Ok((client, drive(connection, incoming_tx))),
                Err(e) => Err(e),
            },
            Some(tls) => match self.config.connect(tls.clone()).await {
                Ok((client, connection)) => Ok((client, drive(connection, incoming_tx))),
                Err(e) => Err(e),
            },
        };
        let (client, driver) = match connected {
            Ok(pair) => pair,
            Err(e) => return Ended::Lost(BusError::Connect(e)),
        };
        let _stop_driver = AbortOnDrop(driver.abort_handle());
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            return Ended::Lost(BusError::Lost(e));
        }
        let notify = match client.prepare("SELECT pg_notify($1, $2)").await {
            Ok(statement) => statement,
            Err(e) => return Ended::Lost(BusError::Lost(e)),
        };
        *backoff = Duration::from_millis(250);
        tracing::info!(server = %self.me, "live bus connected");
        match self.state.upgrade() {
            Some(state) => state.bus().connected(),
            None => return Ended::Stopping,
        }
        // What this server missed while away (or before it started): the others say again.
        self.hold(&Envelope {
            from: self.me.clone(),
            fact: Fact::Sync,
        });
        loop {
            while let Some(payload) = self.held.front() {
                let sent = tokio::time::timeout(
                    SEND_WITHIN,
                    client.execute(&notify, &[&CHANNEL, payload]),
                )
                .await;
                match sent {
                    Ok(Ok(_)) => self.held.pop_front(),
                    Ok(Err(e)) => return Ended::Lost(BusError::Lost(e)),
                    Err(_) => return Ended::Lost(BusError::Stuck),
                };
            }
            tokio::select! {
                biased;
                payload = incoming.recv() => match payload {
                    Some(payload) => self.received(&payload),
                    None => {
                        return Ended::Lost(match driver.await {
                            Ok(Some(e)) => BusError::Lost(e),
                            _ => BusError::Closed,
                        });
                    }
                },
                envelope = self.outgoing.recv() => match envelope {
                    Some(envelope) => self.hold(&envelope),
                    None => return Ended::Stopping,
                },
            }
            if self.state.strong_count() == 0 {
                return Ended::Stopping;
            }
        }
    }

    fn hold(&mut self, envelope: &Envelope) {
        self.next_message += 1;
        match frame::split(envelope, self.next_message) {
            Ok(frames) => self.held.extend(frames),
            Err(e) => tracing::error!(error = %e, "a live fact could not be written as JSON"),
        }
    }

    fn received(&mut self, payload: &str) {
        match self.reassembly.push(payload) {
            // This server applied its own facts when it published them (`Bus::publish`).
            Ok(Some(envelope)) if envelope.from == self.me => {}
            Ok(Some(envelope)) => {
                if let Some(state) = self.state.upgrade() {
                    state.apply(&envelope);
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "live bus payload ignored"),
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
