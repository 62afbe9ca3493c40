//! Live calls in memory: the kiosks' and operators' signalling sockets, the calls between them
//! (ringing → answered → ended; the first operator to answer wins), the relay of SDP and ICE
//! candidates between exactly the two ends of a call, operators' availability, and the ICE
//! servers with short-lived TURN credentials (coturn's `use-auth-secret`) handed out per call.
//! The caller's IIN stays here for the call only; what the store must learn about answered
//! calls (each is an appeal) is queued as `CallFact`s for `signalling::store_calls`.
//!
//! The sockets themselves live in `api::call` (kiosks) and `console::call` (operators); they
//! feed every received message here and forward what this registry queues for them.
//!
//! Over 600 lines: one lock guards the sockets and the calls, and every transition of the call
//! state machine is written against it here, in one place, with its tests.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use senim_protocol::call::{
    CallerIin, ConsoleMessage, EndReason, ErrorCode, IceServer, KioskMessage, SignalError,
    ToConsole, ToKiosk,
};
use senim_protocol::Topic;
use tokio::sync::mpsc;

use crate::config::CallSection;
use crate::db::CallAnswered;

/// Messages queued for one socket before it is considered stuck (and further ones dropped).
const QUEUE: usize = 256;

/// After how long without news another server's operators are forgotten (it stopped, or
/// lost the live bus; servers say every `live::OPERATORS_EVERY`).
pub const OPERATORS_FORGOTTEN_AFTER_SECS: i64 = 20;

/// A connection's id, unique for the server's life.
pub type ConnId = u64;

/// What a socket reads its outgoing messages from.
pub type Outbox<T> = mpsc::Receiver<T>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ringing,
    Answered { by: ConnId },
}

#[derive(Debug, Clone)]
struct Call {
    kiosk_id: String,
    kiosk_conn: ConnId,
    site: String,
    topic: Topic,
    test: bool,
    since: DateTime<Utc>,
    state: State,
    /// The caller's IIN, in memory for the call only (consoles get it masked; the whole IIN
    /// only through the logged reveal).
    iin: Option<CallerIin>,
    /// The appeal the call stands as once answered: the call id when it is appeal-shaped.
    appeal_id: String,
    answered_at: Option<DateTime<Utc>>,
}

/// What the store must learn about answered calls (see `signalling::store_calls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFact {
    /// An operator took the call: its appeal row is made.
    Answered(CallAnswered),
    /// The answered call ended after `secs` seconds.
    Ended {
        appeal_id: String,
        kiosk_id: String,
        secs: u32,
        reason: EndReason,
    },
}

/// Why a live call's IIN cannot be revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealRefused {
    /// No live call of this operator stands as this appeal now.
    NotLive,
    /// The caller did not identify.
    NoIin,
}

#[derive(Debug)]
struct KioskConn {
    conn: ConnId,
    tx: mpsc::Sender<ToKiosk>,
}

#[derive(Debug)]
struct ConsoleConn {
    username: String,
    display_name: String,
    available: bool,
    sink: Sink,
    /// Servers holding calls this (local) console spoke about.
    owners: std::collections::HashSet<String>,
}

/// Where a console's messages go.
#[derive(Debug)]
enum Sink {
    /// A socket on this server.
    Local(mpsc::Sender<ToConsole>),
    /// Another server's console speaking about a call this server holds: its messages go
    /// back over the live bus.
    Remote { server: String, conn: ConnId },
}

/// What the live bus must carry for calls that span two servers (the kiosk's socket on one,
/// the operator's on another). The server holding the kiosk's socket owns the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    /// To console `conn` of `server`.
    ToConsole {
        server: String,
        conn: ConnId,
        message: ToConsole,
    },
    /// To every console of every other server (a call rings, is taken, or ends ringing).
    ToAllConsoles { message: ToConsole },
    /// A console of this server speaks (`text`) about a call `owner` holds.
    ToOwner {
        owner: String,
        conn: ConnId,
        username: String,
        display_name: String,
        available: bool,
        text: String,
    },
    /// A console of this server that spoke to `owner` closed.
    ConsoleGone { owner: String, conn: ConnId },
    /// Console `conn` of `server` answered a call of this server whose caller identified:
    /// the IIN, for that operator to reveal there. The live bus carries it sealed.
    CallerIin {
        server: String,
        conn: ConnId,
        call_id: String,
        appeal_id: String,
        kiosk_id: String,
        iin: String,
    },
}

/// The caller's IIN of a call another server holds, as that server sent it for this server's
/// console (sealed to the shared key).
#[derive(Debug, Clone)]
struct RemoteIin {
    call_id: String,
    appeal_id: String,
    kiosk_id: String,
    sealed: String,
}

/// A live caller's IIN for its operator: plain (the call is held here) or sealed (another
/// server holds it and sent it so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveIin {
    Plain(String),
    Sealed(String),
}

/// A call another server holds, as this server knows it.
#[derive(Debug, Clone)]
struct Elsewhere {
    owner: String,
    /// Its `incoming` while it rings (for consoles that connect meanwhile).
    ringing: Option<ToConsole>,
}

#[derive(Debug, Default)]
struct Inner {
    next_conn: ConnId,
    kiosks: HashMap<String, KioskConn>,
    consoles: HashMap<ConnId, ConsoleConn>,
    calls: HashMap<String, Call>,
    /// What kiosks were last told (`operators_available`, `open_now`).
    told: Option<(bool, bool)>,
    /// Facts about answered calls the store has not taken yet, oldest first.
    facts: Vec<CallFact>,
    /// Other servers of the live bus: whether one of their operators is free, and when they
    /// said so.
    elsewhere: HashMap<String, (bool, DateTime<Utc>)>,
    /// What this server last announced on the live bus about its own operators.
    announced: Option<bool>,
    /// Where messages for other servers go (set when the live bus is shared).
    remote: Option<mpsc::UnboundedSender<Remote>>,
    /// Calls other servers hold, by call id.
    elsewhere_calls: HashMap<String, Elsewhere>,
    /// Local consoles on a call another server holds: the call id and its appeal.
    on_remote_call: HashMap<ConnId, (String, String)>,
    /// The caller's IIN (sealed) of those calls, when the caller identified.
    remote_iins: HashMap<ConnId, RemoteIin>,
    /// Proxies of other servers' consoles, by (server, their connection).
    proxies: HashMap<(String, ConnId), ConnId>,
}

impl Inner {
    fn conn_id(&mut self) -> ConnId {
        self.next_conn += 1;
        self.next_conn
    }

    fn on_call(&self, conn: ConnId) -> Option<&str> {
        self.calls
            .iter()
            .find(|(_, c)| c.state == State::Answered { by: conn })
            .map(|(id, _)| id.as_str())
            .or_else(|| self.on_remote_call.get(&conn).map(|(id, _)| id.as_str()))
    }

    /// Whether some operator of this server is available and not on a call.
    fn free_here(&self) -> bool {
        self.consoles.iter().any(|(conn, c)| {
            matches!(c.sink, Sink::Local(_)) && c.available && self.on_call(*conn).is_none()
        })
    }

    /// Whether some operator (of this server, or of another on the live bus) can take a call.
    fn anyone_free(&self) -> bool {
        let limit = chrono::Duration::seconds(OPERATORS_FORGOTTEN_AFTER_SECS);
        let now = Utc::now();
        self.free_here()
            || self
                .elsewhere
                .values()
                .any(|(free, at)| *free && now - *at <= limit)
    }

    fn to_remote(&self, message: Remote) {
        if let Some(tx) = &self.remote {
            let _ = tx.send(message);
        }
    }

    fn kiosk_call(&self, kiosk_id: &str) -> Option<&str> {
        self.calls
            .iter()
            .find(|(_, c)| c.kiosk_id == kiosk_id)
            .map(|(id, _)| id.as_str())
    }

    fn to_kiosk(&self, kiosk_id: &str, message: ToKiosk) {
        if let Some(k) = self.kiosks.get(kiosk_id) {
            if k.tx.try_send(message).is_err() {
                tracing::warn!(kiosk = %kiosk_id, "kiosk signalling socket stuck; message dropped");
            }
        }
    }

    fn to_console(&self, conn: ConnId, message: ToConsole) {
        if let Some(c) = self.consoles.get(&conn) {
            match &c.sink {
                Sink::Local(tx) => {
                    if tx.try_send(message).is_err() {
                        tracing::warn!(operator = %c.username, "console signalling socket stuck; message dropped");
                    }
                }
                Sink::Remote { server, conn } => self.to_remote(Remote::ToConsole {
                    server: server.clone(),
                    conn: *conn,
                    message,
                }),
            }
        }
    }

    /// To every console here, and through the live bus to every console elsewhere.
    fn to_all_consoles(&self, message: &ToConsole) {
        for (conn, c) in &self.consoles {
            if matches!(c.sink, Sink::Local(_)) {
                self.to_console(*conn, message.clone());
            }
        }
        self.to_remote(Remote::ToAllConsoles {
            message: message.clone(),
        });
    }

    /// Ends a call, telling the kiosk (unless `tell_kiosk` is false) and the operator who took
    /// it, or every console while it was ringing.
    fn end(&mut self, call_id: &str, reason: EndReason, tell_kiosk: bool) -> bool {
        let Some(call) = self.calls.remove(call_id) else {
            return false;
        };
        let ended = |call_id: &str| ToConsole::Ended {
            call_id: call_id.to_string(),
            reason,
        };
        match call.state {
            State::Ringing => self.to_all_consoles(&ended(call_id)),
            State::Answered { by } => {
                self.to_console(by, ended(call_id));
                let secs = call
                    .answered_at
                    .map(|at| (Utc::now() - at).num_seconds().max(0))
                    .unwrap_or(0);
                self.facts.push(CallFact::Ended {
                    appeal_id: call.appeal_id.clone(),
                    kiosk_id: call.kiosk_id.clone(),
                    secs: u32::try_from(secs).unwrap_or(u32::MAX),
                    reason,
                });
            }
        }
        if tell_kiosk {
            self.to_kiosk(
                &call.kiosk_id,
                ToKiosk::Ended {
                    call_id: call_id.to_string(),
                    reason,
                },
            );
        }
        tracing::info!(kiosk = %call.kiosk_id, call = %call_id, reason = ?reason, "live call ended");
        true
    }

    /// Sends a local console's message about a call another server holds to that server;
    /// whether it was one.
    fn route_to_owner(&mut self, conn: ConnId, text: &str) -> bool {
        let Ok(message) = ConsoleMessage::parse(text) else {
            return false;
        };
        let call_id = match &message {
            ConsoleMessage::Answer { call_id }
            | ConsoleMessage::SdpAnswer { call_id, .. }
            | ConsoleMessage::IceCandidate { call_id, .. }
            | ConsoleMessage::HangUp { call_id, .. } => call_id,
            ConsoleMessage::SetAvailable { .. } => return false,
        };
        if self.calls.contains_key(call_id) {
            return false;
        }
        let Some(owner) = self.elsewhere_calls.get(call_id).map(|e| e.owner.clone()) else {
            return false;
        };
        if matches!(message, ConsoleMessage::Answer { .. }) && self.on_call(conn).is_some() {
            return false;
        }
        let Some(c) = self.consoles.get_mut(&conn) else {
            return false;
        };
        if !matches!(c.sink, Sink::Local(_)) {
            return false;
        }
        c.owners.insert(owner.clone());
        let message = Remote::ToOwner {
            owner,
            conn,
            username: c.username.clone(),
            display_name: c.display_name.clone(),
            available: c.available,
            text: text.to_string(),
        };
        self.to_remote(message);
        true
    }

    /// Tells every kiosk whether a call can be placed now, if that changed.
    fn push_availability(&mut self, open_now: bool) {
        let now = (self.anyone_free() && open_now, open_now);
        if self.told == Some(now) {
            return;
        }
        self.told = Some(now);
        for id in self.kiosks.keys() {
            self.to_kiosk(
                id,
                ToKiosk::Availability {
                    operators_available: now.0,
                    open_now: now.1,
                    ice_servers: Vec::new(),
                },
            );
        }
    }
}

/// The registry of signalling sockets and live calls.
#[derive(Debug)]
pub struct Calls {
    config: CallSection,
    inner: Mutex<Inner>,
    /// Held while answered calls' facts go to the store, so that whoever takes it next sees
    /// them stored.
    store: tokio::sync::Mutex<()>,
    /// Rung when facts wait that no socket of this server will store (calls answered by
    /// another server's console).
    store_wakeup: std::sync::Arc<tokio::sync::Notify>,
}

/// What the kiosk socket does after a message was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterKiosk {
    Nothing,
    /// A call started ringing: end it as unanswered after `[call] ring_seconds`.
    StartRingTimer(String),
}

impl Calls {
    pub fn new(config: CallSection) -> Self {
        Calls {
            config,
            inner: Mutex::new(Inner::default()),
            store: tokio::sync::Mutex::new(()),
            store_wakeup: Default::default(),
        }
    }

    /// Whether facts about answered calls wait for the store.
    pub fn has_facts(&self) -> bool {
        !self.lock().facts.is_empty()
    }

    /// Takes the facts about answered calls for the store, oldest first.
    pub fn take_facts(&self) -> Vec<CallFact> {
        std::mem::take(&mut self.lock().facts)
    }

    /// Asks for the waiting facts to be stored (see [`Calls::store_wakeup`]).
    pub fn wake_store(&self) {
        if self.has_facts() {
            self.store_wakeup.notify_one();
        }
    }

    /// What [`Calls::wake_store`] rings.
    pub fn store_wakeup(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.store_wakeup)
    }

    /// The lock held while facts go to the store.
    pub fn store_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.store
    }

    /// Whether a live call stands as this appeal now (answered, not ended).
    pub fn is_live(&self, appeal_id: &str) -> bool {
        let inner = self.lock();
        inner
            .calls
            .values()
            .any(|c| c.appeal_id == appeal_id && matches!(c.state, State::Answered { .. }))
            || inner.on_remote_call.values().any(|(_, a)| a == appeal_id)
    }

    /// The caller's IIN and the kiosk of the live call standing as `appeal_id`, for its
    /// operator (`username`) only: held here (plain), or held by another server that sent it
    /// for this server's console of that operator (sealed).
    pub fn caller_iin(
        &self,
        appeal_id: &str,
        username: &str,
    ) -> Result<(LiveIin, String), RevealRefused> {
        let inner = self.lock();
        let here = inner.calls.values().find(|c| {
            c.appeal_id == appeal_id
                && match c.state {
                    State::Answered { by } => inner
                        .consoles
                        .get(&by)
                        .is_some_and(|o| o.username == username),
                    State::Ringing => false,
                }
        });
        if let Some(call) = here {
            return call
                .iin
                .as_ref()
                .map(|i| (LiveIin::Plain(i.0.clone()), call.kiosk_id.clone()))
                .ok_or(RevealRefused::NoIin);
        }
        let elsewhere = inner.on_remote_call.iter().find(|(conn, (_, appeal))| {
            appeal == appeal_id
                && inner
                    .consoles
                    .get(conn)
                    .is_some_and(|c| c.username == username && matches!(c.sink, Sink::Local(_)))
        });
        let Some((conn, (call_id, _))) = elsewhere else {
            return Err(RevealRefused::NotLive);
        };
        inner
            .remote_iins
            .get(conn)
            .filter(|r| &r.call_id == call_id && r.appeal_id == appeal_id)
            .map(|r| (LiveIin::Sealed(r.sealed.clone()), r.kiosk_id.clone()))
            .ok_or(RevealRefused::NoIin)
    }

    /// Server `owner` sent (sealed) the caller's IIN of its call `call_id`, which this
    /// server's console `conn` answered: kept until that call ends for the console.
    pub fn remote_caller_iin(
        &self,
        owner: &str,
        conn: ConnId,
        call_id: &str,
        appeal_id: &str,
        kiosk_id: &str,
        sealed: String,
    ) {
        let mut inner = self.lock();
        let on_it = inner
            .on_remote_call
            .get(&conn)
            .is_some_and(|(id, appeal)| id == call_id && appeal == appeal_id);
        let from_owner = inner
            .elsewhere_calls
            .get(call_id)
            .is_some_and(|e| e.owner == owner);
        if on_it && from_owner {
            inner.remote_iins.insert(
                conn,
                RemoteIin {
                    call_id: call_id.to_string(),
                    appeal_id: appeal_id.to_string(),
                    kiosk_id: kiosk_id.to_string(),
                    sealed,
                },
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a call may ring.
    pub fn ring_duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.ring_seconds)
    }

    /// Whether an operator connected to this server is available and not on a call.
    pub fn free_here(&self) -> bool {
        self.lock().free_here()
    }

    /// Whether this server's operators are free, if that is to be announced on the live bus:
    /// when it changed since the last announcement, or `always`.
    pub fn free_here_changed(&self, always: bool) -> Option<bool> {
        let mut inner = self.lock();
        let free = inner.free_here();
        if always || inner.announced != Some(free) {
            inner.announced = Some(free);
            Some(free)
        } else {
            None
        }
    }

    /// Another server said (at `at`) whether one of its operators is free; kiosks are told
    /// if that changes whether a call can be placed.
    pub fn operators_elsewhere(&self, server: &str, free: bool, at: DateTime<Utc>, open_now: bool) {
        let mut inner = self.lock();
        let known = inner
            .elsewhere
            .entry(server.to_string())
            .or_insert((free, at));
        if at >= known.1 {
            *known = (free, at);
        }
        inner.push_availability(open_now);
    }

    /// How many other servers have a free operator now (by their announcements of the last
    /// [`OPERATORS_FORGOTTEN_AFTER_SECS`] seconds).
    pub fn servers_with_free_operators(&self, now: DateTime<Utc>) -> usize {
        let limit = chrono::Duration::seconds(OPERATORS_FORGOTTEN_AFTER_SECS);
        let mut inner = self.lock();
        inner.elsewhere.retain(|_, (_, at)| now - *at <= limit);
        inner.elsewhere.values().filter(|(free, _)| *free).count()
    }

    /// Whether a live call can be placed now (for the heartbeat answer).
    pub fn operators_available(&self, open_now: bool) -> bool {
        open_now && self.lock().anyone_free()
    }

    /// A kiosk's socket opened; it is told the availability at once. A newer socket of the
    /// same kiosk replaces an older one (whose outbox then closes).
    pub fn kiosk_connected(&self, kiosk_id: &str, open_now: bool) -> (ConnId, Outbox<ToKiosk>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.lock();
        let conn = inner.conn_id();
        let available = inner.anyone_free() && open_now;
        let _ = tx.try_send(ToKiosk::Availability {
            operators_available: available,
            open_now,
            ice_servers: ice_servers(&self.config, kiosk_id, Utc::now()),
        });
        // Until the first change is pushed, what kiosks know is what they were told here: a
        // later check that finds nothing changed (the hours' tick) tells them nothing again.
        if inner.told.is_none() {
            inner.told = Some((available, open_now));
        }
        inner
            .kiosks
            .insert(kiosk_id.to_string(), KioskConn { conn, tx });
        (conn, rx)
    }

    /// A kiosk's socket closed: its call ends for the operator (`lost`).
    pub fn kiosk_disconnected(&self, kiosk_id: &str, conn: ConnId, open_now: bool) {
        let mut inner = self.lock();
        if inner.kiosks.get(kiosk_id).is_some_and(|k| k.conn == conn) {
            inner.kiosks.remove(kiosk_id);
        }
        let calls: Vec<String> = inner
            .calls
            .iter()
            .filter(|(_, c)| c.kiosk_id == kiosk_id && c.kiosk_conn == conn)
            .map(|(id, _)| id.clone())
            .collect();
        for id in calls {
            inner.end(&id, EndReason::Lost, false);
        }
        inner.push_availability(open_now);
    }

    /// An operator's console socket opened (away until they say otherwise); it is told of
    /// every call ringing now.
    pub fn console_connected(
        &self,
        username: &str,
        display_name: &str,
    ) -> (ConnId, Outbox<ToConsole>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let mut inner = self.lock();
        let conn = inner.conn_id();
        let _ = tx.try_send(ToConsole::Availability { available: false });
        let mut ringing: Vec<(&String, &Call)> = inner
            .calls
            .iter()
            .filter(|(_, c)| c.state == State::Ringing)
            .collect();
        ringing.sort_by_key(|(_, c)| c.since);
        for (id, c) in ringing {
            let _ = tx.try_send(incoming(id, c));
        }
        for e in inner.elsewhere_calls.values() {
            if let Some(incoming) = &e.ringing {
                let _ = tx.try_send(incoming.clone());
            }
        }
        inner.consoles.insert(
            conn,
            ConsoleConn {
                username: username.to_string(),
                display_name: display_name.to_string(),
                available: false,
                sink: Sink::Local(tx),
                owners: Default::default(),
            },
        );
        (conn, rx)
    }

    /// A console socket closed: the operator is away, and their call ends for the kiosk
    /// (the server holding it is told, if another).
    pub fn console_disconnected(&self, conn: ConnId, open_now: bool) {
        let mut inner = self.lock();
        if let Some(id) = inner.on_call(conn).map(str::to_string) {
            inner.end(&id, EndReason::Lost, true);
        }
        inner.on_remote_call.remove(&conn);
        inner.remote_iins.remove(&conn);
        if let Some(c) = inner.consoles.remove(&conn) {
            match c.sink {
                Sink::Local(_) => {
                    for owner in c.owners {
                        inner.to_remote(Remote::ConsoleGone { owner, conn });
                    }
                }
                Sink::Remote { server, conn } => {
                    inner.proxies.remove(&(server, conn));
                }
            }
        }
        inner.push_availability(open_now);
    }

    /// From now on, messages for other servers' consoles and calls queue here (for the live
    /// bus to carry).
    pub fn route_elsewhere(&self) -> mpsc::UnboundedReceiver<Remote> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().remote = Some(tx);
        rx
    }

    /// A message server `owner` sent to every console (`Remote::ToAllConsoles`): this
    /// server's consoles get it, and the call is remembered as `owner`'s.
    pub fn to_consoles_from(&self, owner: &str, message: ToConsole) {
        let mut inner = self.lock();
        match &message {
            ToConsole::Incoming { call_id, .. } => {
                inner.elsewhere_calls.insert(
                    call_id.clone(),
                    Elsewhere {
                        owner: owner.to_string(),
                        ringing: Some(message.clone()),
                    },
                );
            }
            ToConsole::Taken { call_id, .. } => {
                // Ours (`accepted` came first) until it ends; else forgotten now.
                if inner.on_remote_call.values().any(|(id, _)| id == call_id) {
                    if let Some(e) = inner.elsewhere_calls.get_mut(call_id) {
                        e.ringing = None;
                    }
                } else {
                    inner.elsewhere_calls.remove(call_id);
                }
            }
            ToConsole::Ended { call_id, .. } => {
                let still_on = inner.on_remote_call.values().any(|(id, _)| id == call_id);
                if !still_on {
                    inner.elsewhere_calls.remove(call_id);
                }
            }
            _ => {}
        }
        for (conn, c) in &inner.consoles {
            if matches!(c.sink, Sink::Local(_)) {
                inner.to_console(*conn, message.clone());
            }
        }
    }

    /// A message server `owner` sent to this server's console `conn` about a call it holds.
    pub fn to_console_from(&self, owner: &str, conn: ConnId, message: ToConsole, open_now: bool) {
        let mut inner = self.lock();
        if !inner
            .consoles
            .get(&conn)
            .is_some_and(|c| matches!(c.sink, Sink::Local(_)))
        {
            return;
        }
        match &message {
            ToConsole::Accepted {
                call_id, appeal_id, ..
            } => {
                inner
                    .on_remote_call
                    .insert(conn, (call_id.clone(), appeal_id.clone()));
                inner.push_availability(open_now);
            }
            ToConsole::Ended { call_id, .. }
                if inner
                    .on_remote_call
                    .get(&conn)
                    .is_some_and(|(id, _)| id == call_id) =>
            {
                inner.on_remote_call.remove(&conn);
                inner.remote_iins.remove(&conn);
                inner.elsewhere_calls.remove(call_id);
                inner.push_availability(open_now);
            }
            _ => {}
        }
        tracing::debug!(owner = %owner, "signalling message from another server");
        inner.to_console(conn, message);
    }

    /// Console `conn` of `server` speaks about a call this server holds: it is handled as a
    /// console of this server whose messages go back over the bus.
    #[allow(clippy::too_many_arguments)]
    pub fn from_console_elsewhere(
        &self,
        server: &str,
        conn: ConnId,
        username: &str,
        display_name: &str,
        available: bool,
        text: &str,
        open_now: bool,
    ) {
        let proxy = {
            let mut inner = self.lock();
            let key = (server.to_string(), conn);
            let proxy = match inner.proxies.get(&key) {
                Some(proxy) => *proxy,
                None => {
                    let proxy = inner.conn_id();
                    inner.proxies.insert(key, proxy);
                    proxy
                }
            };
            inner.consoles.insert(
                proxy,
                ConsoleConn {
                    username: username.to_string(),
                    display_name: display_name.to_string(),
                    available,
                    sink: Sink::Remote {
                        server: server.to_string(),
                        conn,
                    },
                    owners: Default::default(),
                },
            );
            proxy
        };
        self.from_console(proxy, text, open_now);
    }

    /// Console `conn` of `server` closed: its calls here end as its own socket's would.
    pub fn console_elsewhere_gone(&self, server: &str, conn: ConnId, open_now: bool) {
        let proxy = self
            .lock()
            .proxies
            .get(&(server.to_string(), conn))
            .copied();
        if let Some(proxy) = proxy {
            self.console_disconnected(proxy, open_now);
        }
    }

    /// An operator signed out: every console socket of theirs closes (so they are away).
    pub fn signed_out(&self, username: &str, open_now: bool) {
        let conns: Vec<ConnId> = self
            .lock()
            .consoles
            .iter()
            .filter(|(_, c)| c.username == username)
            .map(|(conn, _)| *conn)
            .collect();
        for conn in conns {
            self.console_disconnected(conn, open_now);
        }
    }

    /// The working hours may have opened or closed: tells kiosks if that changed anything.
    /// Also forgets servers of the live bus silent for [`OPERATORS_FORGOTTEN_AFTER_SECS`]
    /// (stopped, or cut off): their consoles' calls here end as `lost`, and so do this
    /// server's operators' calls held there.
    pub fn refresh_availability(&self, open_now: bool) {
        let limit = chrono::Duration::seconds(OPERATORS_FORGOTTEN_AFTER_SECS);
        let now = Utc::now();
        let gone_proxies: Vec<ConnId> = {
            let mut inner = self.lock();
            inner.elsewhere.retain(|_, (_, at)| now - *at <= limit);
            if inner.remote.is_some() {
                let Inner {
                    elsewhere,
                    elsewhere_calls,
                    on_remote_call,
                    ..
                } = &mut *inner;
                elsewhere_calls.retain(|_, e| elsewhere.contains_key(&e.owner));
                let lost: Vec<(ConnId, String)> = on_remote_call
                    .iter()
                    .filter(|(_, (call_id, _))| !elsewhere_calls.contains_key(call_id))
                    .map(|(conn, (call_id, _))| (*conn, call_id.clone()))
                    .collect();
                for (conn, call_id) in lost {
                    inner.on_remote_call.remove(&conn);
                    inner.remote_iins.remove(&conn);
                    tracing::info!(call = %call_id, "the server holding a live call went silent; the call is lost");
                    inner.to_console(
                        conn,
                        ToConsole::Ended {
                            call_id,
                            reason: EndReason::Lost,
                        },
                    );
                }
            }
            let elsewhere = &inner.elsewhere;
            inner
                .proxies
                .iter()
                .filter(|((server, _), _)| !elsewhere.contains_key(server))
                .map(|(_, proxy)| *proxy)
                .collect()
        };
        for proxy in gone_proxies {
            self.console_disconnected(proxy, open_now);
        }
        self.lock().push_availability(open_now);
        self.wake_store();
    }

    /// A ringing call nobody answered in time ends (`unanswered`) on both sides.
    pub fn ring_timeout(&self, call_id: &str, open_now: bool) {
        let mut inner = self.lock();
        if inner
            .calls
            .get(call_id)
            .is_some_and(|c| c.state == State::Ringing)
        {
            inner.end(call_id, EndReason::Unanswered, true);
            inner.push_availability(open_now);
        }
    }

    /// Handles a text frame from a kiosk; refusals are sent back as `error` (and a malformed or
    /// oversized message ends the kiosk's call on both sides).
    pub fn from_kiosk(
        &self,
        kiosk_id: &str,
        site: &str,
        conn: ConnId,
        text: &str,
        open_now: bool,
    ) -> AfterKiosk {
        let mut inner = self.lock();
        let result = KioskMessage::parse(text)
            .and_then(|m| self.kiosk_message(&mut inner, kiosk_id, site, conn, m, open_now));
        match result {
            Ok(after) => after,
            Err(e) => {
                if matches!(e.code, ErrorCode::Malformed | ErrorCode::TooLarge) {
                    tracing::info!(kiosk = %kiosk_id, code = %e.code, "signalling message from a kiosk refused");
                    if let Some(id) = inner.kiosk_call(kiosk_id).map(str::to_string) {
                        inner.to_kiosk(kiosk_id, kiosk_error(e.about(&id)));
                        inner.end(&id, EndReason::Error, true);
                        inner.push_availability(open_now);
                        return AfterKiosk::Nothing;
                    }
                }
                inner.to_kiosk(kiosk_id, kiosk_error(e));
                AfterKiosk::Nothing
            }
        }
    }

    fn kiosk_message(
        &self,
        inner: &mut Inner,
        kiosk_id: &str,
        site: &str,
        conn: ConnId,
        message: KioskMessage,
        open_now: bool,
    ) -> Result<AfterKiosk, SignalError> {
        // The kiosk's own answered call named by `call_id`, else why not.
        let own = |inner: &Inner, call_id: &str| -> Result<ConnId, SignalError> {
            let call = inner
                .calls
                .get(call_id)
                .ok_or_else(|| no_such_call(call_id))?;
            if call.kiosk_id != kiosk_id {
                tracing::warn!(kiosk = %kiosk_id, call = %call_id, "kiosk named another kiosk's call; refused");
                return Err(not_your_call(call_id));
            }
            match call.state {
                State::Answered { by } => Ok(by),
                State::Ringing => Err(SignalError::new(
                    ErrorCode::NotAnswered,
                    "no operator has answered yet; send the SDP offer after `answered`",
                )
                .about(call_id)),
            }
        };
        match message {
            KioskMessage::Ring {
                call_id,
                topic,
                test,
                iin,
            } => {
                if let Some(id) = inner.kiosk_call(kiosk_id) {
                    return Err(SignalError::new(
                        ErrorCode::Busy,
                        "this kiosk already has a call; hang it up before ringing again",
                    )
                    .about(id));
                }
                if !inner.anyone_free() || !(open_now || test) {
                    return Err(SignalError::new(
                        ErrorCode::Unavailable,
                        "no operator can take a call now; offer a video appeal instead",
                    ));
                }
                let call_id = call_id.unwrap_or_else(new_call_id);
                if inner.calls.contains_key(&call_id) {
                    return Err(SignalError::new(
                        ErrorCode::Busy,
                        "this call id is in use; ring without a call_id to get a fresh one",
                    ));
                }
                let appeal_id = if senim_protocol::valid_appeal_id(&call_id) {
                    call_id.clone()
                } else {
                    crate::secrets::appeal_id()
                };
                let call = Call {
                    kiosk_id: kiosk_id.to_string(),
                    kiosk_conn: conn,
                    site: site.to_string(),
                    topic,
                    test,
                    since: Utc::now(),
                    state: State::Ringing,
                    iin,
                    appeal_id,
                    answered_at: None,
                };
                inner.to_kiosk(
                    kiosk_id,
                    ToKiosk::Ringing {
                        call_id: call_id.clone(),
                        ice_servers: ice_servers(&self.config, kiosk_id, Utc::now()),
                    },
                );
                inner.to_all_consoles(&incoming(&call_id, &call));
                inner.calls.insert(call_id.clone(), call);
                tracing::info!(kiosk = %kiosk_id, call = %call_id, test, "live call ringing");
                Ok(AfterKiosk::StartRingTimer(call_id))
            }
            KioskMessage::SdpOffer { call_id, sdp } => {
                let by = own(inner, &call_id)?;
                inner.to_console(by, ToConsole::SdpOffer { call_id, sdp });
                Ok(AfterKiosk::Nothing)
            }
            KioskMessage::IceCandidate {
                call_id,
                mline_index,
                candidate,
            } => {
                let by = own(inner, &call_id)?;
                inner.to_console(
                    by,
                    ToConsole::IceCandidate {
                        call_id,
                        mline_index,
                        candidate,
                    },
                );
                Ok(AfterKiosk::Nothing)
            }
            KioskMessage::HangUp { call_id, reason } => {
                let call = inner
                    .calls
                    .get(&call_id)
                    .ok_or_else(|| no_such_call(&call_id))?;
                if call.kiosk_id != kiosk_id {
                    tracing::warn!(kiosk = %kiosk_id, call = %call_id, "kiosk hung up another kiosk's call; refused");
                    return Err(not_your_call(&call_id));
                }
                inner.end(&call_id, reason, false);
                inner.push_availability(open_now);
                Ok(AfterKiosk::Nothing)
            }
        }
    }

    /// Handles a text frame from an operator's console; refusals are sent back as `error` (and
    /// a malformed or oversized message ends the operator's call on both sides).
    pub fn from_console(&self, conn: ConnId, text: &str, open_now: bool) {
        let mut inner = self.lock();
        if inner.route_to_owner(conn, text) {
            return;
        }
        let result = ConsoleMessage::parse(text)
            .and_then(|m| console_message(&self.config, &mut inner, conn, m, open_now));
        if let Err(e) = result {
            let username = inner
                .consoles
                .get(&conn)
                .map(|c| c.username.clone())
                .unwrap_or_default();
            match e.code {
                ErrorCode::NotYourCall => {
                    tracing::warn!(operator = %username, call = ?e.call_id, "operator named a call not theirs; refused");
                }
                ErrorCode::Malformed | ErrorCode::TooLarge => {
                    tracing::info!(operator = %username, code = %e.code, "signalling message from a console refused");
                    if let Some(id) = inner.on_call(conn).map(str::to_string) {
                        inner.to_console(conn, console_error(e.about(&id)));
                        inner.end(&id, EndReason::Error, true);
                        inner.push_availability(open_now);
                        return;
                    }
                }
                _ => {}
            }
            inner.to_console(conn, console_error(e));
        }
    }

    #[cfg(test)]
    fn console_count(&self) -> usize {
        self.lock().consoles.len()
    }
}

fn console_message(
    config: &CallSection,
    inner: &mut Inner,
    conn: ConnId,
    message: ConsoleMessage,
    open_now: bool,
) -> Result<(), SignalError> {
    // The kiosk of this operator's call named by `call_id`, else why not.
    let own = |inner: &Inner, call_id: &str| -> Result<String, SignalError> {
        let call = inner
            .calls
            .get(call_id)
            .ok_or_else(|| no_such_call(call_id))?;
        if call.state != (State::Answered { by: conn }) {
            return Err(not_your_call(call_id));
        }
        Ok(call.kiosk_id.clone())
    };
    match message {
        ConsoleMessage::SetAvailable { available } => {
            if let Some(c) = inner.consoles.get_mut(&conn) {
                c.available = available;
            }
            inner.to_console(conn, ToConsole::Availability { available });
            inner.push_availability(open_now);
        }
        ConsoleMessage::Answer { call_id } => {
            let call = inner
                .calls
                .get(&call_id)
                .ok_or_else(|| no_such_call(&call_id))?;
            if call.state != State::Ringing {
                return Err(SignalError::new(
                    ErrorCode::AlreadyTaken,
                    "another operator answered this call first",
                )
                .about(&call_id));
            }
            let kiosk_id = call.kiosk_id.clone();
            if inner.on_call(conn).is_some() {
                return Err(SignalError::new(
                    ErrorCode::Busy,
                    "you are on a call already; hang it up before answering another",
                )
                .about(&call_id));
            }
            let Some(me) = inner.consoles.get(&conn) else {
                return Err(no_such_call(&call_id));
            };
            if !me.available {
                return Err(SignalError::new(
                    ErrorCode::Unavailable,
                    "you are marked away; mark yourself available to answer calls",
                )
                .about(&call_id));
            }
            let by = me.display_name.clone();
            let username = me.username.clone();
            let now = Utc::now();
            let mut appeal_id = String::new();
            if let Some(call) = inner.calls.get_mut(&call_id) {
                call.state = State::Answered { by: conn };
                call.answered_at = Some(now);
                appeal_id = call.appeal_id.clone();
                let fact = CallFact::Answered(CallAnswered {
                    appeal_id: call.appeal_id.clone(),
                    kiosk_id: call.kiosk_id.clone(),
                    topic: call.topic.as_str().to_string(),
                    test: call.test,
                    rang_at: call.since,
                    answered_at: now,
                    operator: username.clone(),
                    operator_name: by.clone(),
                });
                inner.facts.push(fact);
            }
            inner.to_console(
                conn,
                ToConsole::Accepted {
                    call_id: call_id.clone(),
                    ice_servers: ice_servers(config, &kiosk_id, now),
                    appeal_id: appeal_id.clone(),
                },
            );
            // An operator of another server: the IIN goes there too (sealed on the bus), for
            // them to reveal as an operator here would.
            let iin = inner
                .calls
                .get(&call_id)
                .and_then(|c| c.iin.as_ref())
                .map(|i| i.0.clone());
            let theirs = inner.consoles.get(&conn).and_then(|c| match &c.sink {
                Sink::Remote { server, conn } => Some((server.clone(), *conn)),
                Sink::Local(_) => None,
            });
            if let (Some(iin), Some((server, their_conn))) = (iin, theirs) {
                inner.to_remote(Remote::CallerIin {
                    server,
                    conn: their_conn,
                    call_id: call_id.clone(),
                    appeal_id,
                    kiosk_id: kiosk_id.clone(),
                    iin,
                });
            }
            inner.to_all_consoles(&ToConsole::Taken {
                call_id: call_id.clone(),
                by: by.clone(),
            });
            inner.to_kiosk(
                &kiosk_id,
                ToKiosk::Answered {
                    call_id: call_id.clone(),
                    operator: by,
                },
            );
            tracing::info!(kiosk = %kiosk_id, call = %call_id, operator = %username, "live call answered");
            inner.push_availability(open_now);
        }
        ConsoleMessage::SdpAnswer { call_id, sdp } => {
            let kiosk_id = own(inner, &call_id)?;
            inner.to_kiosk(&kiosk_id, ToKiosk::SdpAnswer { call_id, sdp });
        }
        ConsoleMessage::IceCandidate {
            call_id,
            mline_index,
            candidate,
        } => {
            let kiosk_id = own(inner, &call_id)?;
            inner.to_kiosk(
                &kiosk_id,
                ToKiosk::IceCandidate {
                    call_id,
                    mline_index,
                    candidate,
                },
            );
        }
        ConsoleMessage::HangUp { call_id, reason } => {
            own(inner, &call_id)?;
            inner.end(&call_id, reason, true);
            inner.push_availability(open_now);
        }
    }
    Ok(())
}

fn incoming(call_id: &str, call: &Call) -> ToConsole {
    ToConsole::Incoming {
        call_id: call_id.to_string(),
        kiosk_id: call.kiosk_id.clone(),
        site: call.site.clone(),
        topic: call.topic,
        test: call.test,
        waiting_since: call.since,
        iin_masked: call.iin.as_ref().map(CallerIin::masked),
    }
}

fn no_such_call(call_id: &str) -> SignalError {
    SignalError::new(
        ErrorCode::NoSuchCall,
        "there is no such call now (it ended, or never was)",
    )
    .about(call_id)
}

fn not_your_call(call_id: &str) -> SignalError {
    SignalError::new(
        ErrorCode::NotYourCall,
        "this call is not yours; use the call id of your own call",
    )
    .about(call_id)
}

fn kiosk_error(e: SignalError) -> ToKiosk {
    ToKiosk::Error {
        code: e.code,
        message: e.message,
        call_id: e.call_id,
    }
}

fn console_error(e: SignalError) -> ToConsole {
    ToConsole::Error {
        code: e.code,
        message: e.message,
        call_id: e.call_id,
    }
}

fn new_call_id() -> String {
    let n: u64 = rand::random();
    format!("call-{n:016x}")
}

/// The ICE servers of `[call]` for one call of `kiosk_id`: the STUN URLs as they are, the TURN
/// URLs with a username `"<expiry unix time>:<kiosk id>"` and its coturn REST credential.
pub fn ice_servers(config: &CallSection, kiosk_id: &str, now: DateTime<Utc>) -> Vec<IceServer> {
    let mut servers = Vec::new();
    if !config.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: config.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    if !config.turn_urls.is_empty() {
        let ttl = i64::try_from(config.turn_ttl_secs).unwrap_or(i64::MAX / 2);
        let expiry = now.timestamp().saturating_add(ttl);
        let username = format!("{expiry}:{kiosk_id}");
        servers.push(IceServer {
            urls: config.turn_urls.clone(),
            credential: Some(turn_credential(&config.turn_secret, &username)),
            username: Some(username),
        });
    }
    servers
}

/// coturn's `use-auth-secret` password: base64(HMAC-SHA1(secret, username)).
pub fn turn_credential(secret: &str, username: &str) -> String {
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes a key of any length; this branch is never taken.
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_credentials_follow_the_coturn_rest_convention() {
        // Computed independently with Python's standard library:
        //   base64.b64encode(hmac.new(b"north-wind", b"1767225600:K-7QX2",
        //                             hashlib.sha1).digest())
        assert_eq!(
            turn_credential("north-wind", "1767225600:K-7QX2"),
            "pmMLhJbdgvoaZVieVq44TJar1DU="
        );
        let config = CallSection {
            stun_urls: vec!["stun:turn.example.kz:3478".into()],
            turn_urls: vec!["turn:turn.example.kz:3478?transport=udp".into()],
            turn_secret: "north-wind".into(),
            turn_ttl_secs: 3600,
            ring_seconds: 60,
        };
        let now = DateTime::from_timestamp(1_767_222_000, 0).unwrap();
        let servers = ice_servers(&config, "K-7QX2", now);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].username.as_deref(), Some("1767225600:K-7QX2"));
        assert_eq!(
            servers[1].credential.as_deref(),
            Some("pmMLhJbdgvoaZVieVq44TJar1DU=")
        );
        assert!(ice_servers(&CallSection::default(), "K-1", now).is_empty());
    }

    #[test]
    fn a_console_of_a_server_gone_silent_loses_its_call_here() {
        let calls = Calls::new(CallSection::default());
        let _elsewhere = calls.route_elsewhere();
        let (k, mut k_rx) = calls.kiosk_connected("K-1", true);
        let long_ago = Utc::now() - chrono::Duration::seconds(OPERATORS_FORGOTTEN_AFTER_SECS + 1);
        calls.operators_elsewhere("server-b", true, Utc::now(), true);
        assert!(calls.operators_available(true), "B's operator counts");
        let ring = r#"{"type":"ring","call_id":"A-0000000C","topic":"other"}"#;
        calls.from_kiosk("K-1", "Site", k, ring, true);
        calls.from_console_elsewhere(
            "server-b",
            7,
            "aigerim",
            "Aigerim",
            true,
            r#"{"type":"answer","call_id":"A-0000000C"}"#,
            true,
        );
        assert!(calls.is_live("A-0000000C"));
        calls.refresh_availability(true);
        assert!(calls.is_live("A-0000000C"), "B still speaks");
        calls
            .lock()
            .elsewhere
            .insert("server-b".into(), (true, long_ago));
        calls.refresh_availability(true);
        assert!(!calls.is_live("A-0000000C"), "B went silent");
        let ended = std::iter::from_fn(|| k_rx.try_recv().ok())
            .find(|m| matches!(m, ToKiosk::Ended { .. }))
            .unwrap();
        assert!(matches!(
            ended,
            ToKiosk::Ended {
                reason: EndReason::Lost,
                ..
            }
        ));
        assert!(
            !calls.operators_available(true),
            "and B's operators are forgotten"
        );
    }

    #[test]
    fn kiosks_are_told_availability_once_and_again_only_when_it_changes() {
        let calls = Calls::new(CallSection::default());
        let (_k, mut k_rx) = calls.kiosk_connected("K-1", true);
        let told = |rx: &mut Outbox<ToKiosk>| -> Vec<bool> {
            std::iter::from_fn(|| rx.try_recv().ok())
                .filter_map(|m| match m {
                    ToKiosk::Availability {
                        operators_available,
                        ..
                    } => Some(operators_available),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(told(&mut k_rx), vec![false], "told at once");
        // The hours' tick finds nothing changed.
        calls.refresh_availability(true);
        assert_eq!(told(&mut k_rx), Vec::<bool>::new(), "nothing new to say");
        let (conn, _rx) = calls.console_connected("aigerim", "Aigerim");
        calls.from_console(conn, r#"{"type":"set_available","available":true}"#, true);
        assert_eq!(told(&mut k_rx), vec![true], "an operator is free");
    }

    #[test]
    fn a_closed_console_makes_its_operator_away() {
        let calls = Calls::new(CallSection::default());
        let (conn, _rx) = calls.console_connected("aigerim", "Aigerim");
        assert!(!calls.operators_available(true));
        calls.from_console(conn, r#"{"type":"set_available","available":true}"#, true);
        assert!(calls.operators_available(true));
        assert!(!calls.operators_available(false), "closed hours");
        calls.console_disconnected(conn, true);
        assert!(!calls.operators_available(true));
        assert_eq!(calls.console_count(), 0);
    }

    #[test]
    fn only_answered_calls_leave_facts_and_consoles_see_the_iin_masked() {
        let calls = Calls::new(CallSection::default());
        let (op, mut op_rx) = calls.console_connected("aigerim", "Aigerim");
        calls.from_console(op, r#"{"type":"set_available","available":true}"#, true);
        let (k, _k_rx) = calls.kiosk_connected("K-1", true);
        let ring = r#"{"type":"ring","call_id":"A-0000000A","topic":"other","iin":"880101300010"}"#;
        assert_eq!(
            calls.from_kiosk("K-1", "Site", k, ring, true),
            AfterKiosk::StartRingTimer("A-0000000A".into())
        );
        let incoming = std::iter::from_fn(|| op_rx.try_recv().ok())
            .find(|m| matches!(m, ToConsole::Incoming { .. }))
            .unwrap();
        let text = serde_json::to_string(&incoming).unwrap();
        assert!(
            text.contains("••••••••0010") && !text.contains("880101"),
            "{text}"
        );
        calls.ring_timeout("A-0000000A", true);
        assert!(!calls.has_facts(), "an unanswered call is no appeal");

        calls.from_kiosk("K-1", "Site", k, &ring.replace("0A", "0B"), true);
        calls.from_console(op, r#"{"type":"answer","call_id":"A-0000000B"}"#, true);
        assert!(calls.is_live("A-0000000B"));
        assert_eq!(
            calls.caller_iin("A-0000000B", "aigerim"),
            Ok((LiveIin::Plain("880101300010".into()), "K-1".into()))
        );
        assert_eq!(
            calls.caller_iin("A-0000000B", "bolat"),
            Err(RevealRefused::NotLive)
        );
        calls.kiosk_disconnected("K-1", k, true);
        let facts = calls.take_facts();
        assert!(matches!(&facts[0], CallFact::Answered(a) if a.appeal_id == "A-0000000B"));
        assert!(matches!(
            &facts[1],
            CallFact::Ended {
                reason: EndReason::Lost,
                ..
            }
        ));
        assert_eq!(facts.len(), 2);
        assert!(!calls.is_live("A-0000000B"));
        assert_eq!(
            calls.caller_iin("A-0000000B", "aigerim"),
            Err(RevealRefused::NotLive),
            "the IIN is gone with the call"
        );
    }
}
