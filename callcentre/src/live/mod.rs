//! The live bus between call-centre servers: who is at a kiosk, consultant calls, whether any
//! operator is free, and which appeals changed are *facts* published on the bus, and every
//! server — the sender included — applies every fact through the same path
//! (`AppState::apply`) to its own in-memory picture. So a kiosk talking to server A lights the
//! lamp on a console connected to server B.
//!
//! Two buses: in-process (one server, the default with the embedded SQLite store) and
//! PostgreSQL `LISTEN/NOTIFY` (`[database] url` set: `pg`, on a connection of its own,
//! reconnecting after a loss and then asking the others to re-announce what they know). On
//! both, the sender applies its fact at once, before `publish` returns (so what a request
//! changed is in this server's picture when its answer goes out, also while the database is
//! away), and ignores its own fact when the bus brings it back.

pub mod frame;
mod pg;
pub mod picture;

pub use pg::{APPLICATION, CHANNEL};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use chrono::{DateTime, Utc};
use senim_protocol::call::ToConsole;
use senim_protocol::Journey;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Facts waiting for the PostgreSQL bus (while it reconnects, too) before new ones are
/// dropped with a warning.
const QUEUE: usize = 4096;

/// How often a server re-announces whether it has a free operator (the others forget a
/// server after `calls::OPERATORS_FORGOTTEN_AFTER_SECS` without one).
pub const OPERATORS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// What the bus needs of a server (`state::AppState`): its bus, the applying of every fact,
/// and the news of its operators.
pub trait Node: Send + Sync + 'static {
    fn bus(&self) -> &Bus;
    fn apply(&self, envelope: &Envelope);
    fn announce_operators(&self, always: bool);
    /// Starts carrying the live calls' messages for other servers onto the bus.
    fn route_calls(node: &Arc<Self>) -> tokio::task::JoinHandle<()>
    where
        Self: Sized;
}

/// A server's id on the bus: random, new at every start.
pub type ServerId = String;

/// One thing every server must learn. Times are the receiving server's clock (servers keep
/// their clocks in step with NTP): removals only remove what is not newer than they are, so a
/// late fact from one server cannot undo a newer one from another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Fact {
    /// Someone is at a kiosk (since `at`), or left at `at`.
    Presence {
        kiosk_id: String,
        site: String,
        present: bool,
        journey: Option<Journey>,
        at: DateTime<Utc>,
    },
    /// A kiosk's heartbeat arrived at `at`; `in_use: false` (its attract screen) means nobody
    /// is at it, whatever was missed.
    Beat {
        kiosk_id: String,
        in_use: bool,
        at: DateTime<Utc>,
    },
    /// A kiosk asks for a consultant (or a new press of the button, or another step).
    ConsultantRaised {
        kiosk_id: String,
        site: String,
        service_id: String,
        step: u32,
        /// The press, by the kiosk's clock (identifies the call in resends).
        called_at: DateTime<Utc>,
        /// When a server learnt of it.
        since: DateTime<Utc>,
    },
    /// Staff took the call pressed at `called_at`: its resends stay taken.
    ConsultantTaken {
        kiosk_id: String,
        called_at: DateTime<Utc>,
    },
    /// The kiosk's consultant call is over (the kiosk said so, or went silent) at `at`.
    ConsultantEnded { kiosk_id: String, at: DateTime<Utc> },
    /// Whether the sending server has an operator available and not on a call, at `at`.
    Operators { free: bool, at: DateTime<Utc> },
    /// These appeals changed (`None`: which is not known); consoles refresh their rows.
    Appeals { ids: Option<Vec<String>> },
    /// "Tell me what you know": every other server answers with a [`Fact::Picture`] (a
    /// server that started late, or got its bus connection back).
    Sync,
    /// A server's whole picture, as the facts that make it (none of them `Sync` or
    /// `Picture`): applied like any other, so what a server has newer stays.
    Picture { facts: Vec<Fact> },
    /// For console `conn` of `server`, about a call the sender holds (`calls::Remote`).
    CallToConsole {
        server: String,
        conn: u64,
        message: ToConsole,
    },
    /// For every console of every other server: a call of the sender's rings, is taken, or
    /// ends ringing.
    CallToConsoles { message: ToConsole },
    /// The sender's console `conn` says `text` about a call `owner` holds.
    CallFromConsole {
        owner: String,
        conn: u64,
        username: String,
        display_name: String,
        available: bool,
        text: String,
    },
    /// The sender's console `conn`, which spoke about calls `owner` holds, closed.
    CallConsoleGone { owner: String, conn: u64 },
    /// For console `conn` of `server`, which answered the sender's call `call_id`: the
    /// caller's IIN, sealed to the servers' shared key (never plain on the bus, whose
    /// payloads PostgreSQL may log).
    CallerIin {
        server: String,
        conn: u64,
        call_id: String,
        appeal_id: String,
        kiosk_id: String,
        sealed: String,
    },
}

impl Fact {
    /// The fact that carries a registry's message for other servers; a caller's IIN only
    /// sealed with `seal` (none without it: the other server's operator then cannot reveal
    /// it during the call).
    pub fn from_remote(
        remote: crate::calls::Remote,
        seal: Option<&senim_common::seal::Identities>,
    ) -> Option<Fact> {
        use crate::calls::Remote;
        Some(match remote {
            Remote::ToConsole {
                server,
                conn,
                message,
            } => Fact::CallToConsole {
                server,
                conn,
                message,
            },
            Remote::ToAllConsoles { message } => Fact::CallToConsoles { message },
            Remote::ToOwner {
                owner,
                conn,
                username,
                display_name,
                available,
                text,
            } => Fact::CallFromConsole {
                owner,
                conn,
                username,
                display_name,
                available,
                text,
            },
            Remote::ConsoleGone { owner, conn } => Fact::CallConsoleGone { owner, conn },
            Remote::CallerIin {
                server,
                conn,
                call_id,
                appeal_id,
                kiosk_id,
                iin,
            } => {
                let sealed = seal.map(|ids| crate::sealing::seal_at_rest(ids, &iin));
                match sealed {
                    Some(Ok(sealed)) => Fact::CallerIin {
                        server,
                        conn,
                        call_id,
                        appeal_id,
                        kiosk_id,
                        sealed,
                    },
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "could not seal a caller's IIN for another server; not sent");
                        return None;
                    }
                    None => return None,
                }
            }
        })
    }
}

/// A fact with its sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: ServerId,
    pub fact: Fact,
}

/// Where facts go.
pub struct Bus {
    id: ServerId,
    kind: Kind,
    /// How many times the PostgreSQL bus connected (and listens).
    sessions: AtomicU64,
    /// Facts lost to a full queue (warned at 1, 2, 4, 8…).
    dropped: AtomicU64,
}

enum Kind {
    /// One server: facts are applied at once, in the publishing thread.
    Local,
    /// PostgreSQL: facts queue for the bus task (`start`), which also receives everyone's.
    Postgres {
        url: String,
        tx: mpsc::Sender<Envelope>,
        rx: Mutex<Option<mpsc::Receiver<Envelope>>>,
    },
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Local => "in-process",
            Kind::Postgres { .. } => "postgres",
        };
        f.debug_struct("Bus")
            .field("id", &self.id)
            .field("kind", &kind)
            .finish()
    }
}

/// What became of a published fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Applied here already (the in-process bus).
    Applied,
    /// Applied here, and on its way to every other server.
    Queued,
    /// The bus's queue is full (the database has been away long): the fact is lost.
    Dropped,
}

impl Bus {
    /// The in-process bus without `postgres_url`, else the PostgreSQL one (started by
    /// [`start`]).
    pub fn new(postgres_url: Option<&str>) -> Bus {
        let id = format!("{:016x}", rand::random::<u64>());
        let kind = match postgres_url {
            None => Kind::Local,
            Some(url) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                Kind::Postgres {
                    url: url.to_string(),
                    tx,
                    rx: Mutex::new(Some(rx)),
                }
            }
        };
        Bus {
            id,
            kind,
            sessions: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// This server's id on the bus.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many times the PostgreSQL bus has connected and listened since start (0: not yet;
    /// more than 1: it reconnected after a loss).
    pub fn sessions(&self) -> u64 {
        self.sessions.load(Ordering::SeqCst)
    }

    fn connected(&self) {
        self.sessions.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether facts travel between servers (PostgreSQL).
    pub fn shared(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// Applies `fact` to `node` at once and sends it to every other server.
    pub fn publish<N: Node + ?Sized>(&self, node: &N, fact: Fact) -> Sent {
        let envelope = Envelope {
            from: self.id.clone(),
            fact,
        };
        match &self.kind {
            Kind::Local => {
                node.apply(&envelope);
                Sent::Applied
            }
            Kind::Postgres { tx, .. } => {
                node.apply(&envelope);
                match tx.try_send(envelope) {
                    Ok(()) => Sent::Queued,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        let lost = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                        if lost.is_power_of_two() {
                            tracing::warn!(
                                lost,
                                "live bus queue full (is the database away?): live facts do not reach the other servers (their lamps catch up \
                                 with the kiosks' next messages)"
                            );
                        }
                        Sent::Dropped
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => Sent::Dropped,
                }
            }
        }
    }
}

/// The bus's background work, running until dropped (aborted).
pub struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the PostgreSQL bus's connection task and the periodic announcement of this server's
/// operators (nothing to start for the in-process bus).
pub fn start<N: Node>(node: &Arc<N>) -> Running {
    let mut tasks = Vec::new();
    if let Kind::Postgres { url, rx, .. } = &node.bus().kind {
        let taken = rx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(rx) = taken {
            let weak: Weak<N> = Arc::downgrade(node);
            tasks.push(tokio::spawn(pg::run(url.clone(), rx, weak)));
            tasks.push(N::route_calls(node));
            let weak: Weak<N> = Arc::downgrade(node);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(OPERATORS_EVERY);
                loop {
                    tick.tick().await;
                    let Some(state) = weak.upgrade() else { return };
                    state.announce_operators(true);
                }
            }));
        }
    }
    Running { tasks }
}
