//! The kiosk's live-call signalling socket: `GET /api/v1/call` on the call-centre (WebSocket,
//! `wss://` for an https backend, `ws://` for http), with the kiosk's bearer token and the same
//! TLS trust as the sync worker (`sync::tls`: public roots plus `[sync] ca_file`, the enrolment's pin). Typed
//! `protocol::call` messages both ways; every received frame passes the size limit and the
//! `ToKiosk` parse before anyone sees it. See `callcentre/signalling.md`.
//!
//! A [`Signalling`] runs its socket on a thread of its own (a small tokio runtime); sending
//! returns at once and what arrives goes to the sink given to [`Signalling::connect`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use senim_protocol::call::{KioskMessage, ToKiosk, MAX_MESSAGE_BYTES};
use senim_protocol::ApiError;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

use super::SyncConfig;
use crate::store::Store;

/// Longest wait for the socket to open (TCP, TLS and the upgrade).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames longer than this close the socket (the server's own limit).
const MAX_FRAME_BYTES: usize = 256 * 1024;
/// How often a ping keeps the socket (and NAT mappings) alive while idle.
const PING_EVERY: Duration = Duration::from_secs(20);

/// What can go wrong with the signalling socket. Messages say what to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignallingError {
    #[error(
        "this kiosk is not enrolled — run `senim-kiosk enrol CODE` with a code from \
         `senim-callcentre enrol-code --site NAME`"
    )]
    NotEnrolled,
    #[error("sync.backend_url {url:?} is not usable for the call socket: {reason}")]
    BadBackendUrl { url: String, reason: String },
    #[error("sync.ca_file is not a usable PEM certificate: {reason}")]
    BadCa { reason: String },
    #[error(
        "cannot open the call socket at {url} ({reason}) — check the kiosk's network and \
         sync.backend_url; a call cannot be placed until it opens"
    )]
    Offline { url: String, reason: String },
    #[error(
        "the call-centre does not accept this kiosk's token — enrol it again with \
         `senim-kiosk enrol CODE` (a code from `senim-callcentre enrol-code`)"
    )]
    Unauthorized,
    #[error(
        "this kiosk was revoked at the call-centre — ask the administrator, then enrol it \
         again with `senim-kiosk enrol CODE`"
    )]
    Revoked,
    #[error("the call-centre refused the call socket ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the call-centre sent something that is not a signalling message: {0}")]
    Protocol(String),
    #[error("the call socket closed ({0}); it is opened again for the next call")]
    Closed(String),
    #[error("cannot read the kiosk's store for its token: {0}")]
    Store(String),
    #[error("cannot start the call socket's thread: {0}")]
    Thread(String),
}

/// What the socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A checked message from the call-centre.
    Message(ToKiosk),
    /// A frame that is not a signalling message (too large, not JSON, unknown type); the
    /// socket stays open.
    Refused(SignallingError),
    /// The socket is gone (the server closed it or the network broke); nothing more comes.
    Closed(SignallingError),
}

/// Where and how to connect: the `[sync]` backend, its CA, and the kiosk's token.
#[derive(Clone)]
pub struct Endpoint {
    url: String,
    token: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({}, <token>)", self.url)
    }
}

impl Endpoint {
    /// The socket of the backend in `config`, with the token enrolment left in the store.
    pub fn from_sync(config: &SyncConfig) -> Result<Endpoint, SignallingError> {
        let store =
            Store::open(&config.data_dir).map_err(|e| SignallingError::Store(e.to_string()))?;
        let enrolment = store
            .enrolment()
            .map_err(|e| SignallingError::Store(e.to_string()))?
            .ok_or(SignallingError::NotEnrolled)?;
        Endpoint::enrolled(&config.backend_url, config.ca_pem.as_deref(), &enrolment)
    }

    /// The socket of the backend this kiosk enrolled with: its token, and its TLS key pinned
    /// as the HTTP client pins it.
    pub fn enrolled(
        backend: &str,
        extra_ca_pem: Option<&[u8]>,
        enrolment: &crate::store::Enrolment,
    ) -> Result<Endpoint, SignallingError> {
        Endpoint::with_pin(backend, extra_ca_pem, &enrolment.token, enrolment.pin)
    }

    /// `backend` is `http(s)://HOST[:PORT][/PREFIX]`; `extra_ca_pem` is trusted besides the
    /// public roots, as the sync worker's HTTP client does.
    pub fn new(
        backend: &str,
        extra_ca_pem: Option<&[u8]>,
        token: &str,
    ) -> Result<Endpoint, SignallingError> {
        Endpoint::with_pin(backend, extra_ca_pem, token, None)
    }

    fn with_pin(
        backend: &str,
        extra_ca_pem: Option<&[u8]>,
        token: &str,
        pin: Option<senim_protocol::enrol::SpkiPin>,
    ) -> Result<Endpoint, SignallingError> {
        let bad = |reason: &str| SignallingError::BadBackendUrl {
            url: backend.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = if let Some(rest) = backend.strip_prefix("https://") {
            ("wss://", rest)
        } else if let Some(rest) = backend.strip_prefix("http://") {
            ("ws://", rest)
        } else {
            return Err(bad("expected http://HOST[:PORT] or https://HOST[:PORT]"));
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("expected a host after the scheme"));
        }
        let url = format!("{scheme}{rest}/api/v1/call");
        let tls = if scheme == "wss://" {
            Some(Arc::new(
                super::tls::client_config(extra_ca_pem, pin)
                    .map_err(|e| SignallingError::BadCa { reason: e.reason })?,
            ))
        } else {
            None
        };
        Ok(Endpoint {
            url,
            token: token.to_string(),
            tls,
        })
    }

    /// The socket's URL (no secrets in it).
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Reads and checks one text frame from the call-centre.
pub fn parse_incoming(text: &str) -> Result<ToKiosk, SignallingError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(SignallingError::Protocol(format!(
            "a message of {} bytes (at most {MAX_MESSAGE_BYTES})",
            text.len()
        )));
    }
    let message: ToKiosk = serde_json::from_str(text)
        .map_err(|e| SignallingError::Protocol(format!("not a call-centre message: {e}")))?;
    let id = match &message {
        ToKiosk::Ringing { call_id, .. }
        | ToKiosk::Answered { call_id, .. }
        | ToKiosk::SdpAnswer { call_id, .. }
        | ToKiosk::IceCandidate { call_id, .. }
        | ToKiosk::Ended { call_id, .. } => Some(call_id.as_str()),
        ToKiosk::Error { call_id, .. } => call_id.as_deref(),
        ToKiosk::Availability { .. } => None,
    };
    if id.is_some_and(|id| !senim_protocol::call::valid_call_id(id)) {
        return Err(SignallingError::Protocol("a malformed call_id".into()));
    }
    Ok(message)
}

/// A message's `type`, for logs (the message itself may name the operator).
pub fn kind(message: &ToKiosk) -> &'static str {
    match message {
        ToKiosk::Ringing { .. } => "ringing",
        ToKiosk::Answered { .. } => "answered",
        ToKiosk::SdpAnswer { .. } => "sdp_answer",
        ToKiosk::IceCandidate { .. } => "ice_candidate",
        ToKiosk::Ended { .. } => "ended",
        ToKiosk::Availability { .. } => "availability",
        ToKiosk::Error { .. } => "error",
    }
}

enum Out {
    Message(KioskMessage),
    Close,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An open signalling socket. Dropping it closes the socket.
pub struct Signalling {
    tx: mpsc::UnboundedSender<Out>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Signalling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signalling")
    }
}

impl Signalling {
    /// Opens the socket (blocking, at most [`CONNECT_TIMEOUT`]); then a thread carries it and
    /// reports to `sink` until it closes. The first message is the call-centre's
    /// `availability`.
    pub fn connect(
        endpoint: &Endpoint,
        sink: impl Fn(Incoming) + Send + 'static,
    ) -> Result<Signalling, SignallingError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (opened_tx, opened_rx) = std::sync::mpsc::channel();
        let endpoint = endpoint.clone();
        let thread = std::thread::Builder::new()
            .name("senim-call-signal".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = opened_tx.send(Err(SignallingError::Thread(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match open(&endpoint).await {
                        Ok(socket) => {
                            let _ = opened_tx.send(Ok(()));
                            carry(socket, rx, sink).await;
                        }
                        Err(e) => {
                            let _ = opened_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(|e| SignallingError::Thread(e.to_string()))?;
        let opened = opened_rx
            .recv()
            .unwrap_or_else(|_| Err(SignallingError::Thread("the thread ended".into())));
        match opened {
            Ok(()) => Ok(Signalling {
                tx,
                thread: Some(thread),
            }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    /// Sends a message (checked first: a malformed one is refused here, not sent).
    pub fn send(&self, message: KioskMessage) -> Result<(), SignallingError> {
        message
            .check()
            .map_err(|e| SignallingError::Protocol(format!("refused to send: {e}")))?;
        self.tx
            .send(Out::Message(message))
            .map_err(|_| SignallingError::Closed("it was closed before".into()))
    }

    /// Closes the socket (what was sent before goes out first).
    pub fn close(&self) {
        let _ = self.tx.send(Out::Close);
    }
}

impl Drop for Signalling {
    fn drop(&mut self) {
        self.close();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() && t.join().is_err() {
                tracing::error!("call signalling thread ended with a panic");
            }
        }
    }
}

async fn open(endpoint: &Endpoint) -> Result<Socket, SignallingError> {
    let offline = |reason: String| SignallingError::Offline {
        url: endpoint.url.clone(),
        reason,
    };
    let mut request = endpoint.url.as_str().into_client_request().map_err(|e| {
        SignallingError::BadBackendUrl {
            url: endpoint.url.clone(),
            reason: e.to_string(),
        }
    })?;
    let auth = format!("Bearer {}", endpoint.token)
        .parse()
        .map_err(|_| SignallingError::Unauthorized)?;
    request.headers_mut().insert("authorization", auth);
    request.headers_mut().insert(
        "user-agent",
        tungstenite::http::HeaderValue::from_static(concat!(
            "senim-kiosk/",
            env!("CARGO_PKG_VERSION")
        )),
    );
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let connector = endpoint
        .tls
        .as_ref()
        .map(|tls| tokio_tungstenite::Connector::Rustls(Arc::clone(tls)));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        connector.or(Some(tokio_tungstenite::Connector::Plain)),
    );
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(offline(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body: Option<ApiError> = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok());
            Err(match (status, body) {
                (401, Some(b)) if b.error == "revoked" => SignallingError::Revoked,
                (401, _) => SignallingError::Unauthorized,
                (status, Some(b)) => SignallingError::Refused {
                    status,
                    message: b.message,
                },
                (status, None) => SignallingError::Refused {
                    status,
                    message: "no explanation; is sync.backend_url the Senim call-centre?".into(),
                },
            })
        }
        Ok(Err(e)) => Err(offline(describe(&e))),
    }
}

fn describe(e: &tungstenite::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

/// Carries the socket until it closes or the owner closes it.
async fn carry(mut socket: Socket, mut rx: mpsc::UnboundedReceiver<Out>, sink: impl Fn(Incoming)) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let why = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Message(message)) => {
                    let Ok(text) = serde_json::to_string(&message) else { continue };
                    if let Err(e) = socket.send(Message::Text(text.into())).await {
                        break describe(&e);
                    }
                }
                Some(Out::Close) | None => {
                    let _ = socket.close(None).await;
                    return;
                }
            },
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => match parse_incoming(text.as_str()) {
                    Ok(message) => sink(Incoming::Message(message)),
                    Err(e) => {
                        tracing::warn!(error = %e, "call socket: a frame was refused");
                        sink(Incoming::Refused(e));
                    }
                },
                Some(Ok(Message::Binary(_))) => sink(Incoming::Refused(SignallingError::Protocol(
                    "a binary frame".into(),
                ))),
                Some(Ok(Message::Close(_))) | None => break "closed by the call-centre".into(),
                Some(Err(e)) => break describe(&e),
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if let Err(e) = socket.send(Message::Ping(Vec::new().into())).await {
                    break describe(&e);
                }
            }
        }
    };
    sink(Incoming::Closed(SignallingError::Closed(why)));
}

/// What `doctor` learns from the socket: it opens with the token and says whether a call can
/// be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub operators_available: bool,
    pub open_now: bool,
    /// The STUN/TURN servers a call would get now (none on a LAN).
    pub ice_servers: Vec<senim_protocol::call::IceServer>,
}

/// Opens the socket, waits for its first `availability` (at most `wait`) and closes it.
pub fn availability(endpoint: &Endpoint, wait: Duration) -> Result<Availability, SignallingError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let socket = Signalling::connect(endpoint, move |incoming| {
        let _ = tx.send(incoming);
    })?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Incoming::Message(ToKiosk::Availability {
                operators_available,
                open_now,
                ice_servers,
            })) => {
                drop(socket);
                return Ok(Availability {
                    operators_available,
                    open_now,
                    ice_servers,
                });
            }
            Ok(Incoming::Closed(e)) => return Err(e),
            Ok(_) => {}
            Err(_) => {
                return Err(SignallingError::Protocol(format!(
                    "no availability within {} s of connecting",
                    wait.as_secs()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_url_follows_the_backend_scheme() {
        let e = Endpoint::new("http://127.0.0.1:8080/", None, "t").unwrap();
        assert_eq!(e.url(), "ws://127.0.0.1:8080/api/v1/call");
        let e = Endpoint::new("https://cc.example.kz", None, "secret-token").unwrap();
        assert_eq!(e.url(), "wss://cc.example.kz/api/v1/call");
        assert!(!format!("{e:?}").contains("secret-token"));
        for bad in ["ftp://x", "cc.example.kz", "https://", "http:///x"] {
            assert!(
                matches!(
                    Endpoint::new(bad, None, "t"),
                    Err(SignallingError::BadBackendUrl { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Endpoint::new("https://cc", Some(b"not a pem"), "t"),
            Err(SignallingError::BadCa { .. })
        ));
    }

    #[test]
    fn incoming_frames_are_checked() {
        let m = parse_incoming(r#"{"type":"answered","call_id":"c-1","operator":"A"}"#).unwrap();
        assert!(matches!(m, ToKiosk::Answered { .. }));
        for bad in [
            "nope",
            r#"{"type":"dance"}"#,
            r#"{"type":"ended","call_id":"../x","reason":"hung_up"}"#,
        ] {
            assert!(
                matches!(parse_incoming(bad), Err(SignallingError::Protocol(_))),
                "{bad}"
            );
        }
        let big = format!(
            r#"{{"type":"sdp_answer","call_id":"c","sdp":"{}"}}"#,
            "a".repeat(MAX_MESSAGE_BYTES)
        );
        assert!(matches!(
            parse_incoming(&big),
            Err(SignallingError::Protocol(_))
        ));
    }
}
