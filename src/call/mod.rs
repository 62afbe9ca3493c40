//! One live call from the kiosk, glued together: the signalling socket (`sync::call`), the
//! media (`devices::call::CallMedia`) and the news the app (or `senim-kiosk call`) needs.
//!
//! [`LiveCall::place`] returns at once; the call's thread connects the socket, rings and runs
//! the call: `ringing` → on `answered` the media starts (`start_media`, the one place it is
//! created), the SDP offer and our candidates go out, the operator's answer and candidates come
//! in;
//! `ended` from the call-centre hangs the media up; media `Lost` sends `hang_up{lost}`; a
//! malformed answer or candidate ends the call on both sides (`hang_up{error}`). Everything
//! ends in exactly one [`CallNews::Ended`]. Nothing personal is logged (never the IIN).
//!
//! `ice.rs`: the call-centre's ICE servers as the media takes them, and whether they answer
//! (for `doctor`).

pub mod ice;

use std::net::IpAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use senim_protocol::call::{CallerIin, EndReason, ErrorCode, IceServer, KioskMessage, ToKiosk};
use senim_protocol::Topic;

use crate::devices::call::{self as media, CallEvent, CallMedia, CallState, RemoteFrame};
use crate::devices::camera::CameraConfig;
use crate::sync::call::{Endpoint, Incoming, Signalling};

/// What to call about.
#[derive(Clone, PartialEq, Eq)]
pub struct CallRequest {
    /// The id to use (to tie the call to its appeal record); `None`: the call-centre makes one.
    pub call_id: Option<String>,
    pub topic: Topic,
    /// The patient's 12-digit IIN when they identified (shown masked to the operator).
    pub iin: Option<String>,
    /// A technician's test call: rings any available operator at any hour.
    pub test: bool,
}

impl std::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallRequest")
            .field("call_id", &self.call_id)
            .field("topic", &self.topic)
            .field("iin", &self.iin.as_ref().map(|_| "<redacted>"))
            .field("test", &self.test)
            .finish()
    }
}

/// How the call is set up besides what it is about.
#[derive(Debug, Clone)]
pub struct CallSetup {
    /// The call-centre's signalling socket.
    pub endpoint: Endpoint,
    /// The camera and microphone (and where the operator's voice goes).
    pub devices: CameraConfig,
    /// Gather host candidates only on these addresses (empty: every interface but loopback).
    pub local_addresses: Vec<IpAddr>,
    /// Give up ringing after this long (the kiosk's own `[call] ring_seconds`); `None`: wait
    /// for the call-centre's own timeout.
    pub ring_timeout: Option<Duration>,
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    HungUpByOperator,
    HungUpByKiosk,
    /// Nobody answered in time.
    Unanswered,
    /// Nobody can answer now (no operator available, or outside working hours).
    Unavailable,
    /// The network or the other end went away.
    Lost,
    /// Something refused or broke (the detail says what).
    Failed,
}

impl CallEnd {
    /// The snake_case name (`senim-kiosk call`'s JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            CallEnd::HungUpByOperator => "hung_up_by_operator",
            CallEnd::HungUpByKiosk => "hung_up_by_kiosk",
            CallEnd::Unanswered => "unanswered",
            CallEnd::Unavailable => "unavailable",
            CallEnd::Lost => "lost",
            CallEnd::Failed => "failed",
        }
    }
}

/// What the call reports, in order: `Ringing`, `Answered`, `Connected`, `RemoteFrame`s, and
/// always exactly one `Ended` last.
#[derive(Debug, Clone)]
pub enum CallNews {
    Ringing {
        call_id: String,
    },
    /// Only the operator's display name.
    Answered {
        operator: String,
    },
    Connected,
    RemoteFrame(RemoteFrame),
    Ended {
        reason: CallEnd,
        /// What happened, for the log and the technician (nothing personal).
        detail: String,
    },
}

/// The media figures of the call so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    pub operator_frames_received: u64,
    pub operator_frames_drawn: u64,
    pub audio_packets_received: u64,
    pub frames_sent: u64,
}

/// Why a call could not even be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("the call request is malformed: {0}")]
    BadRequest(String),
    #[error("cannot start the call's thread: {0}")]
    Thread(String),
}

enum Input {
    Signal(Incoming),
    Media(CallEvent),
    HangUp,
    Volume(u8),
}

/// A call under way. Every method returns at once; news goes to the sink. Dropping it hangs
/// up and waits for the call's thread (the media closing; at most the socket's 10 s connect
/// timeout while it is still opening): drop it after `Ended`, or off the UI thread.
pub struct LiveCall {
    tx: Sender<Input>,
    stats: Arc<Mutex<CallStats>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LiveCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveCall")
    }
}

impl LiveCall {
    /// Starts the call on its own thread and returns at once: the thread opens the signalling
    /// socket (a few seconds at most; failing that, `Ended{Failed}` with the reason), rings,
    /// and runs the call, reporting to `sink`. Only a malformed request (a bad call id or IIN)
    /// or a thread that cannot start is refused here.
    pub fn place(
        request: CallRequest,
        setup: CallSetup,
        sink: impl Fn(CallNews) + Send + 'static,
    ) -> Result<LiveCall, PlaceError> {
        let ring = KioskMessage::Ring {
            call_id: request.call_id.clone(),
            topic: request.topic,
            test: request.test,
            iin: request.iin.clone().map(CallerIin),
        };
        ring.check()
            .map_err(|e| PlaceError::BadRequest(e.message))?;
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(Mutex::new(CallStats::default()));
        let thread_stats = Arc::clone(&stats);
        let thread_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name("senim-live-call".into())
            .spawn(move || {
                let signal_tx = thread_tx.clone();
                let signalling = Signalling::connect(&setup.endpoint, move |incoming| {
                    let _ = signal_tx.send(Input::Signal(incoming));
                });
                let signalling = match signalling {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "live call: cannot open the call socket");
                        sink(CallNews::Ended {
                            reason: CallEnd::Failed,
                            detail: e.to_string(),
                        });
                        return;
                    }
                };
                let control = Control {
                    setup,
                    signalling,
                    tx: thread_tx,
                    rx,
                    stats: thread_stats,
                    sink: Box::new(sink),
                    call_id: request.call_id,
                    ice_servers: Vec::new(),
                    media: None,
                    failure: None,
                    rang: false,
                    rang_at: Instant::now(),
                    volume: 100,
                };
                control.run(ring, request.test, request.topic);
            })
            .map_err(|e| PlaceError::Thread(e.to_string()))?;
        Ok(LiveCall {
            tx,
            stats,
            thread: Some(thread),
        })
    }

    /// Hangs up (an answered call) or stops ringing; `Ended{HungUpByKiosk}` follows.
    pub fn hang_up(&self) {
        let _ = self.tx.send(Input::HangUp);
    }

    /// Stops ringing (the same as [`LiveCall::hang_up`] before an answer).
    pub fn cancel(&self) {
        self.hang_up();
    }

    /// The operator's loudness, 0–100.
    pub fn set_volume(&self, volume: u8) {
        let _ = self.tx.send(Input::Volume(volume.min(100)));
    }

    /// The media figures so far.
    pub fn stats(&self) -> CallStats {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        let _ = self.tx.send(Input::HangUp);
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() && t.join().is_err() {
                tracing::error!("live call thread ended with a panic");
            }
        }
    }
}

/// Creates the call's media: the ONE place a call opens the camera and microphone (to be
/// swapped for the camera's shared capture).
fn start_media(
    setup: &CallSetup,
    ice_servers: &[IceServer],
    tx: Sender<Input>,
) -> Result<CallMedia, media::CallError> {
    let config = media::CallConfig {
        ice_servers: ice::media_ice_servers(ice_servers),
        local_addresses: setup.local_addresses.clone(),
        ..media::CallConfig::default()
    };
    CallMedia::start(config, setup.devices.clone(), move |event| {
        let _ = tx.send(Input::Media(event));
    })
}

/// The call's thread: everything that happens to the call, in order.
struct Control {
    setup: CallSetup,
    signalling: Signalling,
    tx: Sender<Input>,
    rx: Receiver<Input>,
    stats: Arc<Mutex<CallStats>>,
    sink: Box<dyn Fn(CallNews) + Send>,
    call_id: Option<String>,
    ice_servers: Vec<IceServer>,
    media: Option<CallMedia>,
    /// Why the media failed, from its `Failed` event.
    failure: Option<String>,
    /// `ringing` came.
    rang: bool,
    rang_at: Instant,
    volume: u8,
}

/// How a step of the call went on.
enum Step {
    Go,
    End(CallEnd, String),
}

impl Control {
    fn run(mut self, ring: KioskMessage, test: bool, topic: Topic) {
        let (reason, detail) = self.ring(ring, test, topic).unwrap_or_else(|| self.serve());
        if let Some(media) = self.media.take() {
            self.update_stats(Some(&media));
            media.hang_up();
            drop(media);
        }
        self.signalling.close();
        tracing::info!(reason = reason.as_str(), %detail, "live call ended");
        (self.sink)(CallNews::Ended { reason, detail });
    }

    /// Rings, unless the owner hung up while the socket opened (or it closed again); then
    /// answers how the call ended.
    fn ring(&mut self, ring: KioskMessage, test: bool, topic: Topic) -> Option<(CallEnd, String)> {
        let mut early = Vec::new();
        while let Ok(input) = self.rx.try_recv() {
            match input {
                Input::HangUp => return Some((CallEnd::HungUpByKiosk, "the kiosk hung up".into())),
                Input::Signal(Incoming::Closed(e)) => {
                    return Some((CallEnd::Failed, e.to_string()))
                }
                Input::Volume(v) => self.volume = v,
                other => early.push(other),
            }
        }
        if let Err(e) = self.signalling.send(ring) {
            return Some((CallEnd::Failed, e.to_string()));
        }
        tracing::info!(test, topic = ?topic, "live call: ringing");
        self.rang_at = Instant::now();
        // What came before the ring (the availability) is handled as usual.
        for input in early {
            let _ = self.tx.send(input);
        }
        None
    }

    /// Runs the call until it ends; how it ended.
    fn serve(&mut self) -> (CallEnd, String) {
        loop {
            let input = match self.setup.ring_timeout.filter(|_| self.media.is_none()) {
                Some(limit) => {
                    let left = limit.saturating_sub(self.rang_at.elapsed());
                    match self.rx.recv_timeout(left) {
                        Ok(input) => input,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            self.send_hang_up(EndReason::Unanswered);
                            return (
                                CallEnd::Unanswered,
                                format!("nobody answered within {} s", limit.as_secs()),
                            );
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            return (CallEnd::Failed, "the call's channel closed".into())
                        }
                    }
                }
                None => match self.rx.recv() {
                    Ok(input) => input,
                    Err(_) => return (CallEnd::Failed, "the call's channel closed".into()),
                },
            };
            let step = match input {
                Input::Signal(incoming) => self.signal(incoming),
                Input::Media(event) => self.media_event(event),
                Input::HangUp => {
                    self.send_hang_up(EndReason::HungUp);
                    Step::End(CallEnd::HungUpByKiosk, "the kiosk hung up".into())
                }
                Input::Volume(v) => {
                    // The media has no volume control yet; kept for when it has.
                    self.volume = v;
                    Step::Go
                }
            };
            if let Step::End(reason, detail) = step {
                return (reason, detail);
            }
        }
    }

    fn ours(&self, call_id: &str) -> bool {
        self.call_id.as_deref() == Some(call_id)
    }

    fn send(&self, message: KioskMessage) {
        if let Err(e) = self.signalling.send(message) {
            tracing::warn!(error = %e, "live call: a message could not be sent");
        }
    }

    fn send_hang_up(&self, reason: EndReason) {
        if let Some(call_id) = &self.call_id {
            self.send(KioskMessage::HangUp {
                call_id: call_id.clone(),
                reason,
            });
        }
    }

    fn signal(&mut self, incoming: Incoming) -> Step {
        let message = match incoming {
            Incoming::Message(m) => m,
            Incoming::Refused(e) => {
                tracing::warn!(error = %e, "live call: a frame from the call-centre was refused");
                return Step::Go;
            }
            Incoming::Closed(e) => {
                let reason = if self.media.is_some() {
                    CallEnd::Lost
                } else {
                    CallEnd::Failed
                };
                return Step::End(reason, e.to_string());
            }
        };
        match message {
            ToKiosk::Availability { .. } => Step::Go,
            ToKiosk::Ringing {
                call_id,
                ice_servers,
            } => {
                if self.call_id.as_ref().is_some_and(|id| *id != call_id) {
                    tracing::warn!(call = %call_id, "live call: ringing for a call id not asked for");
                }
                self.call_id = Some(call_id.clone());
                self.rang = true;
                self.ice_servers = ice_servers;
                self.rang_at = Instant::now();
                (self.sink)(CallNews::Ringing { call_id });
                Step::Go
            }
            ToKiosk::Answered { call_id, operator } if self.ours(&call_id) => {
                if self.media.is_some() {
                    return Step::Go;
                }
                (self.sink)(CallNews::Answered { operator });
                let started = start_media(&self.setup, &self.ice_servers, self.tx.clone())
                    .and_then(|m| m.create_offer().map(|()| m));
                match started {
                    Ok(m) => {
                        self.media = Some(m);
                        Step::Go
                    }
                    Err(e) => {
                        self.send_hang_up(EndReason::Error);
                        Step::End(CallEnd::Failed, e.to_string())
                    }
                }
            }
            ToKiosk::SdpAnswer { call_id, sdp } if self.ours(&call_id) => {
                let Some(m) = &self.media else {
                    return Step::Go;
                };
                match m.accept_answer(&sdp) {
                    Ok(()) => Step::Go,
                    Err(e) => {
                        self.send_hang_up(EndReason::Error);
                        Step::End(CallEnd::Failed, e.to_string())
                    }
                }
            }
            ToKiosk::IceCandidate {
                call_id,
                mline_index,
                candidate,
            } if self.ours(&call_id) => {
                let Some(m) = &self.media else {
                    return Step::Go;
                };
                match m.add_remote_candidate(mline_index, &candidate) {
                    Ok(()) => Step::Go,
                    Err(e) => {
                        self.send_hang_up(EndReason::Error);
                        Step::End(CallEnd::Failed, e.to_string())
                    }
                }
            }
            ToKiosk::Ended { call_id, reason } if self.ours(&call_id) => match reason {
                EndReason::HungUp => {
                    Step::End(CallEnd::HungUpByOperator, "the operator hung up".into())
                }
                EndReason::Unanswered => {
                    Step::End(CallEnd::Unanswered, "nobody answered in time".into())
                }
                EndReason::Lost => Step::End(
                    CallEnd::Lost,
                    "the operator's connection to the call-centre broke".into(),
                ),
                EndReason::Error => Step::End(
                    CallEnd::Failed,
                    "the call-centre ended the call after a refused message".into(),
                ),
            },
            ToKiosk::Error {
                code,
                message,
                call_id,
            } => {
                tracing::warn!(code = %code, %message, "live call: the call-centre refused a message");
                // Before `ringing`, a refusal is the ring's; later ones are about single
                // messages (the call-centre ends the call itself when it has to).
                match code {
                    ErrorCode::Unavailable if !self.rang => {
                        Step::End(CallEnd::Unavailable, message)
                    }
                    ErrorCode::Busy | ErrorCode::Malformed | ErrorCode::TooLarge if !self.rang => {
                        let _ = call_id;
                        Step::End(CallEnd::Failed, message)
                    }
                    _ => Step::Go,
                }
            }
            other => {
                // Only the kind: an `answered` carries an operator's name.
                let kind = crate::sync::call::kind(&other);
                tracing::warn!(kind, "live call: a message about another call ignored");
                Step::Go
            }
        }
    }

    fn media_event(&mut self, event: CallEvent) -> Step {
        let Some(call_id) = self.call_id.clone() else {
            return Step::Go;
        };
        match event {
            CallEvent::LocalDescription(sdp) => {
                self.send(KioskMessage::SdpOffer { call_id, sdp });
                Step::Go
            }
            CallEvent::IceCandidate { mline, candidate } => {
                self.send(KioskMessage::IceCandidate {
                    call_id,
                    mline_index: mline,
                    candidate,
                });
                Step::Go
            }
            CallEvent::State(CallState::Connected) => {
                (self.sink)(CallNews::Connected);
                Step::Go
            }
            CallEvent::State(CallState::Connecting) => Step::Go,
            CallEvent::State(CallState::Lost) => {
                self.send_hang_up(EndReason::Lost);
                Step::End(
                    CallEnd::Lost,
                    "no media from the operator any more (the network or their browser went away)"
                        .into(),
                )
            }
            CallEvent::State(CallState::Ended) => {
                self.send_hang_up(EndReason::Error);
                let detail = self
                    .failure
                    .take()
                    .unwrap_or_else(|| "the call's media ended".into());
                Step::End(CallEnd::Failed, detail)
            }
            CallEvent::RemoteFrame(frame) => {
                (self.sink)(CallNews::RemoteFrame(frame));
                Step::Go
            }
            CallEvent::Counters(_) => {
                self.update_stats(self.media.as_ref());
                Step::Go
            }
            CallEvent::Failed(e) => {
                self.failure = Some(e.to_string());
                Step::Go
            }
        }
    }

    fn update_stats(&self, media: Option<&CallMedia>) {
        let Some(media) = media else { return };
        let c = media.counters();
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = CallStats {
            operator_frames_received: c.remote_frames_received,
            operator_frames_drawn: c.remote_frames_drawn,
            audio_packets_received: c.audio_packets_received,
            frames_sent: c.frames_sent,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_never_shows_the_iin() {
        let r = CallRequest {
            call_id: None,
            topic: Topic::Complaint,
            iin: Some("880101300010".into()),
            test: false,
        };
        assert!(!format!("{r:?}").contains("880101300010"));
    }
}
