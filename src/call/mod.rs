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

mod control;
pub mod ice;

use control::Control;

use std::net::IpAddr;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use senim_protocol::call::{CallerIin, KioskMessage};
use senim_protocol::Topic;

use crate::devices::call::{CallEvent, RemoteFrame};
use crate::devices::camera::{CameraConfig, CaptureLender};
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
    /// The camera's capture to share (the kiosk, where the preview and the take run beside the
    /// call); `None`: the call opens the devices itself (the technician's test call).
    pub capture: Option<CaptureLender>,
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
