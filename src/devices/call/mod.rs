//! The live call's media on the kiosk: camera and microphone sent as VP8 + Opus over WebRTC
//! (GStreamer `webrtcbin`), the operator's picture handed out as RGB frames and their voice
//! played, with a small signalling API that does not care how its messages travel.
//!
//! A [`CallMedia`] handle belongs to the UI thread; every call returns at once. An engine
//! thread owns the pipeline and reports [`CallEvent`]s to the sink given to
//! [`CallMedia::start`] (from the engine and from GStreamer's streaming threads).
//!
//! The kiosk is always the caller:
//!
//! 1. [`CallMedia::start`] builds the pipeline and opens the devices;
//! 2. [`CallMedia::create_offer`] → [`CallEvent::LocalDescription`] (send it to the operator),
//!    then a [`CallEvent::IceCandidate`] for each local candidate (send them too);
//! 3. [`CallMedia::accept_answer`] and [`CallMedia::add_remote_candidate`] with what the
//!    operator's browser sends back;
//! 4. [`CallEvent::State`] says `Connecting`, `Connected`, then `Lost` (the network or the
//!    peer went away) or `Ended` (our [`CallMedia::hang_up`], or a fatal error, reported
//!    first as [`CallEvent::Failed`]). `Lost` and `Ended` are final: the pipeline is gone and
//!    the devices closed; a new call is a new `CallMedia`.
//!
//! Pipeline shape (see `ARCHITECTURE.md`, "The call media"):
//!
//! ```text
//! v4l2src|videotestsrc ─ caps ─ videoconvert ─ vp8enc ─ rtpvp8pay ─┐
//! pulsesrc|alsasrc|audiotestsrc ─ 48k mono ─ opusenc ─ rtpopuspay ─┤ webrtcbin (max-bundle)
//!                                                                   ├─▶ rtpvp8depay ─ vp8dec ─ RGB ─ appsink ─▶ RemoteFrame
//!                                                                   └─▶ rtpopusdepay ─ opusdec ─ audio sink
//! ```
//!
//! The encoder follows the link: `rate` turns the browser's receiver reports into a bit rate
//! and frame rate (webrtcbin 1.22 has no congestion controller; Debian has no `rtpgccbwe`).
//!
//! [`CallMedia::start`] opens the devices itself (the technician's test call);
//! [`CallMedia::start_shared`] runs on the camera's one capture instead, beside its preview
//! and take.

mod engine;
mod pipeline;
mod rate;
pub mod sdp;
mod shared;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::camera::{CameraConfig, CaptureLender};

/// How long a connected call may receive nothing at all before it is `Lost`. Chromium sends
/// audio every 20 ms and video at least a few times a second, and webrtcbin 1.22 does not
/// notice a peer that vanished (it does not turn on libnice's RFC 7675 consent-freshness
/// checks, and Chromium sends no RTCP BYE on close), so silence is the signal.
pub const DEFAULT_LOST_AFTER: Duration = Duration::from_secs(3);
/// How long ICE and DTLS may take, from the answer, to connect.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A STUN or TURN server for one call, as the call-centre hands them out.
#[derive(Clone, PartialEq, Eq)]
pub enum IceServer {
    /// `stun://host:port`.
    Stun { url: String },
    /// `turn://` or `turns://host:port`, with the (usually time-limited) credentials.
    Turn {
        url: String,
        username: String,
        credential: String,
    },
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IceServer::Stun { url } => write!(f, "Stun({url})"),
            IceServer::Turn { url, .. } => write!(f, "Turn({url}, <credentials>)"),
        }
    }
}

/// What one call needs besides the devices. The devices, sizes and bit rates are the
/// `[camera]` section's; the operator's voice goes to `camera.audio_output` (`none`: a fake
/// sink that only counts, as in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallConfig {
    /// STUN/TURN servers for this call; none on a LAN or in tests (loopback).
    pub ice_servers: Vec<IceServer>,
    /// Gather host candidates only on these addresses; empty: every interface but loopback
    /// (libnice's default). Tests use `127.0.0.1`.
    pub local_addresses: Vec<IpAddr>,
    /// Silence (no RTP packet at all) after which a connected call is `Lost`.
    pub lost_after: Duration,
    /// Longest wait from the answer until the call is connected.
    pub connect_timeout: Duration,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            ice_servers: Vec::new(),
            local_addresses: Vec::new(),
            lost_after: DEFAULT_LOST_AFTER,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl CallConfig {
    /// Refuses ICE servers webrtcbin cannot use.
    pub fn validate(&self) -> Result<(), CallError> {
        let mut stun = 0;
        for server in &self.ice_servers {
            let (url, schemes): (&str, &[&str]) = match server {
                IceServer::Stun { url } => {
                    stun += 1;
                    (url, &["stun://"])
                }
                IceServer::Turn {
                    url,
                    username,
                    credential,
                } => {
                    if username.is_empty() || credential.is_empty() {
                        return Err(CallError::BadIceServer {
                            url: url.to_string(),
                            reason: "a TURN server needs a username and a credential".into(),
                        });
                    }
                    (url, &["turn://", "turns://"])
                }
            };
            let Some(rest) = schemes.iter().find_map(|s| url.strip_prefix(s)) else {
                return Err(CallError::BadIceServer {
                    url: url.to_string(),
                    reason: format!("expected a URL starting with {}", schemes.join(" or ")),
                });
            };
            let host_port_ok = rest
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
                && !rest.contains(['@', '/', '?', ' ']);
            if !host_port_ok {
                return Err(CallError::BadIceServer {
                    url: url.to_string(),
                    reason: "expected host:port after the scheme, nothing else".into(),
                });
            }
        }
        if stun > 1 {
            return Err(CallError::BadIceServer {
                url: String::new(),
                reason: "webrtcbin takes one STUN server per call; pass only the nearest".into(),
            });
        }
        Ok(())
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Offer made or answer taken; ICE and DTLS under way.
    Connecting,
    /// Media can flow both ways.
    Connected,
    /// The network or the peer went away (ICE failed, or nothing received for `lost_after`,
    /// or no connection within `connect_timeout`). Final.
    Lost,
    /// Hung up here, or ended by an error reported just before. Final.
    Ended,
}

/// The operator's picture: RGB at the size the browser sends. Make it an image with
/// `slint::Image::from_rgb8(frame.pixels)`.
#[derive(Clone)]
pub struct RemoteFrame {
    pub pixels: slint::SharedPixelBuffer<slint::Rgb8Pixel>,
}

impl std::fmt::Debug for RemoteFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RemoteFrame({}×{})",
            self.pixels.width(),
            self.pixels.height()
        )
    }
}

/// Media counters of a call, since its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaCounters {
    /// Encoded VP8 frames handed to webrtcbin.
    pub frames_sent: u64,
    /// RTP packets of the operator's video that came through the jitter buffer.
    pub video_packets_received: u64,
    /// Frames of the operator's video decoded.
    pub remote_frames_received: u64,
    /// Of those, frames handed out as [`CallEvent::RemoteFrame`].
    pub remote_frames_drawn: u64,
    /// RTP packets of the operator's voice that came through the jitter buffer.
    pub audio_packets_received: u64,
    /// The video bit rate the congestion control sends at now, bits per second (0 before the
    /// first receiver report).
    pub video_target_bps: u64,
}

/// Shared, lock-free counters written by streaming threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    frames_sent: AtomicU64,
    video_packets_received: AtomicU64,
    remote_frames_received: AtomicU64,
    remote_frames_drawn: AtomicU64,
    audio_packets_received: AtomicU64,
    video_target_bps: AtomicU64,
    /// Most pictures a second to send (0: as the camera gives them); the congestion control's.
    fps_cap: std::sync::atomic::AtomicU32,
    /// Set (before the final state is reported) once the call is over.
    over: AtomicBool,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> MediaCounters {
        MediaCounters {
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            video_packets_received: self.video_packets_received.load(Ordering::Relaxed),
            remote_frames_received: self.remote_frames_received.load(Ordering::Relaxed),
            remote_frames_drawn: self.remote_frames_drawn.load(Ordering::Relaxed),
            audio_packets_received: self.audio_packets_received.load(Ordering::Relaxed),
            video_target_bps: self.video_target_bps.load(Ordering::Relaxed),
        }
    }

    fn received(&self) -> u64 {
        self.video_packets_received.load(Ordering::Relaxed)
            + self.audio_packets_received.load(Ordering::Relaxed)
    }
}

/// What the call reports.
pub enum CallEvent {
    /// Our SDP offer: send it to the operator's browser.
    LocalDescription(String),
    /// One of our ICE candidates for media section `mline`: send it to the browser.
    IceCandidate { mline: u32, candidate: String },
    /// The call moved on.
    State(CallState),
    /// A picture of the operator.
    RemoteFrame(RemoteFrame),
    /// The counters, once a second while the call runs.
    Counters(MediaCounters),
    /// Why the call is ending (followed by `State(Ended)`).
    Failed(CallError),
}

impl std::fmt::Debug for CallEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallEvent::LocalDescription(sdp) => {
                write!(f, "LocalDescription(<{} bytes>)", sdp.len())
            }
            CallEvent::IceCandidate { mline, .. } => {
                write!(f, "IceCandidate({mline}, <candidate>)")
            }
            CallEvent::State(s) => write!(f, "State({s:?})"),
            CallEvent::RemoteFrame(frame) => write!(f, "{frame:?}"),
            CallEvent::Counters(c) => write!(f, "{c:?}"),
            CallEvent::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

/// What can go wrong with a call. Messages say how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error(
        "camera.video and camera.audio are both \"none\": a call needs a camera or a microphone"
    )]
    NothingFitted,
    #[error("cannot start GStreamer: {0} — reinstall the gstreamer1.0 packages (make setup)")]
    Init(String),
    #[error("the GStreamer element `{element}` is missing — install {package} (scripts/setup.sh)")]
    MissingElement {
        element: &'static str,
        package: &'static str,
    },
    #[error("ICE server {url:?} is unusable: {reason}")]
    BadIceServer { url: String, reason: String },
    #[error("the operator's SDP answer is malformed: {reason} — the call was ended; check the console's signalling")]
    BadAnswer { reason: String },
    #[error("an ICE candidate from the operator is malformed: {reason} — the call was ended; check the console's signalling")]
    BadCandidate { reason: String },
    #[error("webrtcbin refused {what}: {reason}")]
    Negotiation { what: &'static str, reason: String },
    #[error("an answer came before our offer; call create_offer and send its SDP first")]
    NoOffer,
    #[error("{device} failed during the call: {reason}")]
    Device {
        device: &'static str,
        reason: String,
    },
    #[error("the call has ended; start a new CallMedia for a new call")]
    Ended,
    #[error("cannot start the call thread: {0}")]
    Thread(String),
}

/// A command from the owner to the engine thread.
#[derive(Debug)]
enum Command {
    CreateOffer,
    Answer(gstreamer_sdp::SDPMessage),
    Candidate {
        mline: u32,
        candidate: String,
    },
    /// End the call; with the error that ended it, if any.
    HangUp(Option<CallError>),
    /// How loud the operator's voice plays, in percent.
    Volume(u8),
}

type Sink = Arc<dyn Fn(CallEvent) + Send + Sync>;

/// One live call's media. Owned by the UI thread; every method returns at once and the
/// answers come as events. Dropping it hangs up.
pub struct CallMedia {
    tx: mpsc::Sender<engine::Msg>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
    /// Media kinds of our offer, once made (for checking the answer here, on the caller's
    /// thread, so a malformed one is refused synchronously).
    offered: Arc<std::sync::Mutex<Option<Vec<String>>>>,
}

impl std::fmt::Debug for CallMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallMedia")
    }
}

impl CallMedia {
    /// Validates the configuration and starts the engine thread, which builds the pipeline,
    /// opens the devices and waits for [`CallMedia::create_offer`]. A failure there (a missing
    /// plugin, a device that does not open) is `Failed` + `State(Ended)`.
    pub fn start(
        call: CallConfig,
        devices: CameraConfig,
        sink: impl Fn(CallEvent) + Send + Sync + 'static,
    ) -> Result<CallMedia, CallError> {
        Self::spawn(call, devices, None, Arc::new(sink))
    }

    /// As [`CallMedia::start`], but on the camera's one capture (see [`CaptureLender`]): the
    /// picture and voice the preview shows and a take records are the ones the operator gets,
    /// and a take started during the call records both voices. `devices` gives the sizes and
    /// bit rates (the camera's own configuration). Hanging up takes the call off the capture;
    /// the camera's preview and take carry on.
    pub fn start_shared(
        call: CallConfig,
        devices: CameraConfig,
        lender: CaptureLender,
        sink: impl Fn(CallEvent) + Send + Sync + 'static,
    ) -> Result<CallMedia, CallError> {
        Self::spawn(call, devices, Some(lender), Arc::new(sink))
    }

    fn spawn(
        call: CallConfig,
        devices: CameraConfig,
        lender: Option<CaptureLender>,
        sink: Sink,
    ) -> Result<CallMedia, CallError> {
        if !devices.has_video() && !devices.has_audio() {
            return Err(CallError::NothingFitted);
        }
        call.validate()?;
        let (tx, rx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let offered = Arc::new(std::sync::Mutex::new(None));
        let engine = engine::Engine::new(
            call,
            devices,
            sink,
            tx.clone(),
            Arc::clone(&counters),
            Arc::clone(&offered),
            lender,
        );
        let thread = thread::Builder::new()
            .name("senim-call".into())
            .spawn(move || engine.run(rx))
            .map_err(|e| CallError::Thread(e.to_string()))?;
        Ok(CallMedia {
            tx,
            thread: Some(thread),
            counters,
            offered,
        })
    }

    fn check_running(&self) -> Result<(), CallError> {
        if self.counters.over.load(Ordering::Acquire) {
            return Err(CallError::Ended);
        }
        Ok(())
    }

    fn send(&self, command: Command) -> Result<(), CallError> {
        self.check_running()?;
        self.tx
            .send(engine::Msg::Command(command))
            .map_err(|_| CallError::Ended)
    }

    /// Makes the offer: `LocalDescription`, then `IceCandidate`s as they are gathered.
    pub fn create_offer(&self) -> Result<(), CallError> {
        self.send(Command::CreateOffer)
    }

    /// Takes the operator's answer. A malformed one is refused here with the reason and ends
    /// the call (`Failed`, `State(Ended)`).
    pub fn accept_answer(&self, sdp: &str) -> Result<(), CallError> {
        self.check_running()?;
        let offered = self
            .offered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(offered) = offered else {
            return Err(CallError::NoOffer);
        };
        match sdp::parse_answer(sdp, &offered) {
            Ok(message) => self.send(Command::Answer(message)),
            Err(e) => {
                let _ = self.send(Command::HangUp(Some(e.clone())));
                Err(e)
            }
        }
    }

    /// Takes one of the operator's ICE candidates (`candidate:…` for media section `mline`).
    /// An empty candidate (end of candidates) is ignored. A malformed one is refused here and
    /// ends the call.
    pub fn add_remote_candidate(&self, mline: u32, candidate: &str) -> Result<(), CallError> {
        self.check_running()?;
        if candidate.is_empty() {
            return Ok(());
        }
        let sections = self
            .offered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, Vec::len);
        if sections == 0 {
            return Err(CallError::NoOffer);
        }
        match sdp::check_candidate(mline, candidate, sections) {
            Ok(candidate) => self.send(Command::Candidate { mline, candidate }),
            Err(e) => {
                let _ = self.send(Command::HangUp(Some(e.clone())));
                Err(e)
            }
        }
    }

    /// Ends the call: media stops, devices close, then `State(Ended)`.
    pub fn hang_up(&self) {
        let _ = self.send(Command::HangUp(None));
    }

    /// How loud the operator's voice plays: 0 (silent) to 100 (as received); more is taken
    /// as 100.
    pub fn set_volume(&self, percent: u8) {
        let _ = self.send(Command::Volume(percent.min(100)));
    }

    /// The counters now (also sent as `Counters` events once a second).
    pub fn counters(&self) -> MediaCounters {
        self.counters.snapshot()
    }
}

impl Drop for CallMedia {
    fn drop(&mut self) {
        let _ = self.tx.send(engine::Msg::Command(Command::HangUp(None)));
        let _ = self.tx.send(engine::Msg::Shutdown);
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                tracing::error!("call thread ended with a panic");
            }
        }
    }
}

#[cfg(test)]
mod tests;
