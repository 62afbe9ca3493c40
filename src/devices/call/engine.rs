//! The call's engine thread: owns the pipeline and `webrtcbin`, turns commands, webrtcbin's
//! signals and bus messages into signalling steps, state changes and events, and watches a
//! connected call for silence (a peer that vanished).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;

use super::pipeline::{self, Remote, RemoteSettings};
use super::rate::{receiver_report, RateControl, Report};
use super::shared::{self, Media};
use super::{sdp, CallConfig, CallError, CallEvent, CallState, Command, Counters, IceServer, Sink};
use crate::devices::camera::{CameraConfig, CaptureLender};

/// How often the engine looks at its timers (counters, silence, connect deadline).
const TICK: Duration = Duration::from_millis(100);
/// Longest wait from `create_offer` for webrtcbin to make the offer; past it the call fails
/// rather than hang on "connecting" (the patient is then offered to record instead).
const OFFER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for webrtcbin's `on-negotiation-needed` before making the offer anyway (a
/// safety net: it did not come while the call's branch was linked to the camera's tees before it
/// ran, which stalled the capture — `shared::plug` now starts the branch first).
const NEGOTIATION_GRACE: Duration = Duration::from_secs(1);
/// Interval of `Counters` events.
const COUNTERS_EVERY: Duration = Duration::from_secs(1);

/// What the engine thread receives.
pub(crate) enum Msg {
    Command(Command),
    NegotiationNeeded,
    OfferCreated(Result<gst_webrtc::WebRTCSessionDescription, String>),
    RemoteDescriptionSet(Result<(), String>),
    LocalCandidate {
        mline: u32,
        candidate: String,
    },
    ConnectionState(gst_webrtc::WebRTCPeerConnectionState),
    RemoteLinked(Result<Remote, CallError>),
    Bus(gst::Message),
    /// The operator's receiver report on our video (loss since the last, round trip).
    Report(Report),
    Shutdown,
}

pub(crate) struct Engine {
    call: CallConfig,
    devices: CameraConfig,
    sink: Sink,
    tx: Sender<Msg>,
    counters: Arc<Counters>,
    offered: Arc<Mutex<Option<Vec<String>>>>,
    /// With a lender, the call borrows the camera's capture instead of opening the devices.
    lender: Option<CaptureLender>,
    volume: Arc<std::sync::atomic::AtomicU8>,
    rate: RateControl,
    pipeline: Option<Media>,
    webrtc: Option<gst::Element>,
    negotiation_needed: bool,
    offer_wanted: bool,
    offer_requested: bool,
    /// When `create_offer` was asked for, until the offer is made.
    offer_asked_at: Option<Instant>,
    reported: Option<CallState>,
    answered_at: Option<Instant>,
    connected_at: Option<Instant>,
    last_received: u64,
    last_received_at: Instant,
    next_counters: Instant,
    done: bool,
}

impl Engine {
    pub(crate) fn new(
        call: CallConfig,
        devices: CameraConfig,
        sink: Sink,
        tx: Sender<Msg>,
        counters: Arc<Counters>,
        offered: Arc<Mutex<Option<Vec<String>>>>,
        lender: Option<CaptureLender>,
    ) -> Engine {
        let rate = RateControl::new(devices.video_kbps.saturating_mul(1000), devices.fps);
        Engine {
            call,
            devices,
            sink,
            tx,
            counters,
            offered,
            lender,
            volume: Arc::new(std::sync::atomic::AtomicU8::new(100)),
            rate,
            pipeline: None,
            webrtc: None,
            negotiation_needed: false,
            offer_wanted: false,
            offer_requested: false,
            offer_asked_at: None,
            reported: None,
            answered_at: None,
            connected_at: None,
            last_received: 0,
            last_received_at: Instant::now(),
            next_counters: Instant::now() + COUNTERS_EVERY,
            done: false,
        }
    }

    /// The thread's body: runs until the call is over, or `Shutdown`.
    pub(crate) fn run(mut self, rx: Receiver<Msg>) {
        if let Err(e) = self.start() {
            self.fail(e);
        }
        while !self.done {
            match rx.recv_timeout(TICK) {
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => {
                    self.teardown();
                    break;
                }
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if !self.done {
                self.on_timers();
            }
        }
    }

    fn emit(&self, event: CallEvent) {
        (self.sink)(event);
    }

    fn report(&mut self, state: CallState) {
        if self.reported != Some(state) {
            tracing::info!(?state, "call state");
            self.reported = Some(state);
            self.emit(CallEvent::State(state));
        }
    }

    /// Builds the pipeline (or the branch on the camera's capture), hooks webrtcbin's signals,
    /// sets the ICE servers and starts it.
    fn start(&mut self) -> Result<(), CallError> {
        pipeline::init(&self.devices)?;
        let webrtc = match self.lender.clone() {
            Some(lender) => self.start_shared(&lender)?,
            None => self.start_own()?,
        };
        self.webrtc = Some(webrtc.clone());
        let container = match &self.pipeline {
            Some(media) => media.container(),
            None => return Err(CallError::Init("the call's media did not start".into())),
        };
        self.configure_ice(&webrtc)?;

        let tx = self.tx.clone();
        webrtc.connect("on-negotiation-needed", false, move |_| {
            let _ = tx.send(Msg::NegotiationNeeded);
            None
        });
        let tx = self.tx.clone();
        webrtc.connect("on-ice-candidate", false, move |values| {
            let mline = values.get(1).and_then(|v| v.get::<u32>().ok());
            let candidate = values.get(2).and_then(|v| v.get::<String>().ok());
            if let (Some(mline), Some(candidate)) = (mline, candidate) {
                let _ = tx.send(Msg::LocalCandidate { mline, candidate });
            }
            None
        });
        let tx = self.tx.clone();
        webrtc.connect_notify(Some("connection-state"), move |w, _| {
            let state = w.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
            let _ = tx.send(Msg::ConnectionState(state));
        });
        let tx = self.tx.clone();
        let weak = container.downgrade();
        let devices = self.devices.clone();
        let remote = RemoteSettings {
            counters: Arc::clone(&self.counters),
            sink: Arc::clone(&self.sink),
            volume: Arc::clone(&self.volume),
        };
        webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let Some(container) = weak.upgrade() else {
                return;
            };
            let linked = pipeline::link_remote(&container, pad, &devices, &remote);
            let _ = tx.send(Msg::RemoteLinked(linked));
        });

        let device = if self.devices.has_video() {
            "camera"
        } else {
            "microphone"
        };
        let started = match &mut self.pipeline {
            Some(Media::Own(pipe)) => pipe.set_state(gst::State::Playing).is_ok(),
            Some(media @ Media::Shared { .. }) => {
                shared::plug(media)?;
                true
            }
            None => false,
        };
        if !started {
            return Err(CallError::Device {
                device,
                reason: "the call pipeline did not start (a device did not open)".into(),
            });
        }
        Ok(())
    }

    /// A pipeline with devices of its own; its bus reports errors to the engine.
    fn start_own(&mut self) -> Result<gst::Element, CallError> {
        let (pipe, webrtc) = pipeline::build(&self.devices, &self.counters)?;
        if let Some(bus) = pipe.bus() {
            let tx = self.tx.clone();
            bus.set_sync_handler(move |_, msg| {
                if matches!(
                    msg.view(),
                    gst::MessageView::Error(_) | gst::MessageView::Warning(_)
                ) {
                    let _ = tx.send(Msg::Bus(msg.clone()));
                }
                gst::BusSyncReply::Drop
            });
        }
        self.pipeline = Some(Media::Own(pipe));
        Ok(webrtc)
    }

    /// The call's branch for the camera's live pipeline, built (plugged in and linked to its
    /// tees once webrtcbin's signals are hooked). The camera's controller watches that pipeline's bus: device faults are the camera's to
    /// report (the call then hears nothing and is `Lost`).
    fn start_shared(&mut self, lender: &CaptureLender) -> Result<gst::Element, CallError> {
        let (media, webrtc) = shared::prepare(lender, &self.devices, &self.counters)?;
        self.pipeline = Some(media);
        Ok(webrtc)
    }

    /// STUN/TURN servers of this call and the addresses to gather host candidates on.
    fn configure_ice(&self, webrtc: &gst::Element) -> Result<(), CallError> {
        for server in &self.call.ice_servers {
            match server {
                IceServer::Stun { url } => webrtc.set_property("stun-server", url.as_str()),
                IceServer::Turn {
                    url,
                    username,
                    credential,
                } => {
                    let (scheme, host) = url.split_once("://").unwrap_or(("turn", url));
                    let full = format!(
                        "{scheme}://{}:{}@{host}",
                        userinfo_escape(username),
                        userinfo_escape(credential)
                    );
                    if !webrtc.emit_by_name::<bool>("add-turn-server", &[&full]) {
                        return Err(CallError::BadIceServer {
                            url: url.clone(),
                            reason: "webrtcbin refused it".into(),
                        });
                    }
                }
            }
        }
        if !self.call.local_addresses.is_empty() {
            let ice = webrtc.property::<gst_webrtc::WebRTCICE>("ice-agent");
            for address in &self.call.local_addresses {
                if !ice.emit_by_name::<bool>("add-local-ip-address", &[&address.to_string()]) {
                    return Err(CallError::Init(format!(
                        "the ICE agent refused the local address {address}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Command(cmd) => self.command(cmd),
            Msg::NegotiationNeeded => {
                self.negotiation_needed = true;
                self.maybe_offer();
            }
            Msg::OfferCreated(Ok(offer)) => self.offer_created(offer),
            Msg::OfferCreated(Err(reason)) => self.fail(CallError::Negotiation {
                what: "to create an offer",
                reason,
            }),
            Msg::RemoteDescriptionSet(Ok(())) => tracing::debug!("remote description set"),
            Msg::RemoteDescriptionSet(Err(reason)) => self.fail(CallError::Negotiation {
                what: "the answer",
                reason,
            }),
            Msg::LocalCandidate { mline, candidate } => {
                self.emit(CallEvent::IceCandidate { mline, candidate })
            }
            Msg::ConnectionState(state) => self.connection_state(state),
            Msg::RemoteLinked(Ok(kind)) => tracing::info!(?kind, "operator's stream arrived"),
            Msg::RemoteLinked(Err(e)) => self.fail(e),
            Msg::Bus(msg) => self.bus(&msg),
            Msg::Report(report) => self.report_received(report),
            Msg::Shutdown => {}
        }
    }

    fn command(&mut self, cmd: Command) {
        let Some(webrtc) = self.webrtc.clone() else {
            return;
        };
        match cmd {
            Command::CreateOffer => {
                self.offer_wanted = true;
                self.offer_asked_at.get_or_insert_with(Instant::now);
                self.maybe_offer();
            }
            Command::Answer(message) => {
                let desc = gst_webrtc::WebRTCSessionDescription::new(
                    gst_webrtc::WebRTCSDPType::Answer,
                    message,
                );
                let tx = self.tx.clone();
                let promise = gst::Promise::with_change_func(move |reply| {
                    let result = match reply {
                        Ok(Some(s)) if s.has_field("error") => Err(reply_error(s)),
                        Ok(_) => Ok(()),
                        Err(e) => Err(format!("{e:?}")),
                    };
                    let _ = tx.send(Msg::RemoteDescriptionSet(result));
                });
                webrtc.emit_by_name::<()>("set-remote-description", &[&desc, &promise]);
                self.answered_at = Some(Instant::now());
            }
            Command::Candidate { mline, candidate } => {
                webrtc.emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
            }
            Command::HangUp(None) => {
                self.teardown();
                self.report(CallState::Ended);
            }
            Command::Volume(percent) => {
                self.volume
                    .store(percent, std::sync::atomic::Ordering::Relaxed);
                if let Some(volume) = self
                    .pipeline
                    .as_ref()
                    .and_then(|m| m.container().by_name(pipeline::VOLUME))
                {
                    volume.set_property("volume", f64::from(percent) / 100.0);
                }
            }
            Command::HangUp(Some(e)) => self.fail(e),
        }
    }

    /// Makes the offer once it is asked for and webrtcbin has its streams (negotiation needed).
    fn maybe_offer(&mut self) {
        if !(self.offer_wanted && self.negotiation_needed) || self.offer_requested {
            return;
        }
        let Some(webrtc) = &self.webrtc else { return };
        self.offer_requested = true;
        let tx = self.tx.clone();
        let promise = gst::Promise::with_change_func(move |reply| {
            let result = match reply {
                Ok(Some(s)) => s
                    .get::<gst_webrtc::WebRTCSessionDescription>("offer")
                    .map_err(|_| reply_error(s)),
                Ok(None) => Err("no offer in webrtcbin's reply".into()),
                Err(e) => Err(format!("{e:?}")),
            };
            let _ = tx.send(Msg::OfferCreated(result));
        });
        webrtc.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
    }

    fn offer_created(&mut self, offer: gst_webrtc::WebRTCSessionDescription) {
        let Some(webrtc) = &self.webrtc else { return };
        let text = match offer.sdp().as_text() {
            Ok(t) => t,
            Err(e) => {
                return self.fail(CallError::Negotiation {
                    what: "its own offer",
                    reason: e.to_string(),
                })
            }
        };
        webrtc.emit_by_name::<()>("set-local-description", &[&offer, &None::<gst::Promise>]);
        *self.offered.lock().unwrap_or_else(|e| e.into_inner()) = Some(sdp::media_kinds(&text));
        self.offer_asked_at = None;
        self.emit(CallEvent::LocalDescription(text));
        self.report(CallState::Connecting);
    }

    fn connection_state(&mut self, state: gst_webrtc::WebRTCPeerConnectionState) {
        use gst_webrtc::WebRTCPeerConnectionState as S;
        tracing::debug!(?state, "webrtcbin connection state");
        match state {
            S::Connecting => self.report(CallState::Connecting),
            S::Connected => {
                let now = Instant::now();
                self.connected_at = Some(now);
                self.last_received_at = now;
                self.report(CallState::Connected);
            }
            S::Disconnected | S::Failed => self.lost(&format!("the connection is {state:?}")),
            _ => {}
        }
    }

    fn bus(&mut self, msg: &gst::Message) {
        match msg.view() {
            gst::MessageView::Error(_) => {
                let (device, reason) = pipeline::error_reason(msg);
                self.fail(CallError::Device { device, reason });
            }
            gst::MessageView::Warning(w) => tracing::warn!(
                source = msg.src().map(|s| s.name().to_string()).unwrap_or_default(),
                warning = %w.error(),
                "call pipeline warning"
            ),
            _ => {}
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if now >= self.next_counters {
            self.next_counters = now + COUNTERS_EVERY;
            self.emit(CallEvent::Counters(self.counters.snapshot()));
            self.ask_stats();
        }
        if !self.negotiation_needed
            && self
                .offer_asked_at
                .is_some_and(|at| now.duration_since(at) >= NEGOTIATION_GRACE)
        {
            tracing::info!("call: webrtcbin did not ask for negotiation; making the offer anyway");
            self.negotiation_needed = true;
            self.maybe_offer();
        }
        if self
            .offer_asked_at
            .is_some_and(|at| now.duration_since(at) >= OFFER_TIMEOUT)
        {
            let secs = OFFER_TIMEOUT.as_secs();
            tracing::warn!(
                negotiation_needed = self.negotiation_needed,
                "call: no offer {secs} s after it was asked for"
            );
            return self.fail(CallError::Negotiation {
                what: "to make an offer",
                reason: format!(
                    "no offer within {secs} s (webrtcbin {} asked for negotiation)",
                    if self.negotiation_needed {
                        "had"
                    } else {
                        "never"
                    }
                ),
            });
        }
        if self.connected_at.is_some() {
            let received = self.counters.received();
            if received != self.last_received {
                self.last_received = received;
                self.last_received_at = now;
            } else if now.duration_since(self.last_received_at) >= self.call.lost_after {
                let secs = self.call.lost_after.as_secs_f32();
                self.lost(&format!("nothing received for {secs:.1} s"));
            }
        } else if let Some(at) = self.answered_at {
            if now.duration_since(at) >= self.call.connect_timeout {
                let secs = self.call.connect_timeout.as_secs();
                self.lost(&format!("not connected {secs} s after the answer"));
            }
        }
    }

    /// Asks webrtcbin for its statistics; the browser's receiver reports come back as
    /// `Msg::Report`.
    fn ask_stats(&self) {
        let (Some(webrtc), Some(_)) = (&self.webrtc, self.connected_at) else {
            return;
        };
        let tx = self.tx.clone();
        let promise = gst::Promise::with_change_func(move |reply| {
            if let Ok(Some(s)) = reply {
                if let Some(report) = receiver_report(s) {
                    let _ = tx.send(Msg::Report(report));
                }
            }
        });
        webrtc.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
    }

    /// Adapts the encoder to what the operator's receiver reports.
    fn report_received(&mut self, report: Report) {
        let before = self.rate.rate();
        let now = self.rate.update(report.fraction_lost);
        self.counters
            .video_target_bps
            .store(u64::from(now.bps), std::sync::atomic::Ordering::Relaxed);
        if now == before {
            return;
        }
        if let Some(media) = &self.pipeline {
            let container = media.container();
            if let Some(enc) = container.by_name(pipeline::VIDEO_ENC) {
                enc.set_property("target-bitrate", i32::try_from(now.bps).unwrap_or(i32::MAX));
            }
            if now.fps != before.fps {
                self.counters
                    .fps_cap
                    .store(now.fps, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(
                    kbps = now.bps / 1000,
                    fps = now.fps,
                    lost = report.fraction_lost,
                    rtt_ms = report.rtt.map_or(-1.0, |r| r * 1000.0),
                    "call: the sending rate follows the link"
                );
            }
        }
    }

    fn lost(&mut self, reason: &str) {
        tracing::info!(%reason, "call lost");
        self.teardown();
        self.report(CallState::Lost);
    }

    fn fail(&mut self, error: CallError) {
        tracing::warn!(%error, "call ended by an error");
        self.teardown();
        self.emit(CallEvent::Failed(error));
        self.report(CallState::Ended);
    }

    /// Stops the pipeline (devices close), or takes the call's branch off the camera's capture
    /// (the camera carries on), and ends the thread's loop.
    fn teardown(&mut self) {
        self.done = true;
        self.counters
            .over
            .store(true, std::sync::atomic::Ordering::Release);
        self.webrtc = None;
        match self.pipeline.take() {
            Some(Media::Own(pipe)) => {
                if let Some(bus) = pipe.bus() {
                    bus.unset_sync_handler();
                }
                let _ = pipe.set_state(gst::State::Null);
            }
            Some(media @ Media::Shared { .. }) => shared::detach(media),
            None => return,
        }
        self.emit(CallEvent::Counters(self.counters.snapshot()));
    }
}

/// The error in a webrtcbin promise reply, as text.
fn reply_error(s: &gst::StructureRef) -> String {
    s.get::<gst::glib::Error>("error")
        .map(|e| e.message().to_string())
        .unwrap_or_else(|_| format!("unexpected reply {}", s.name()))
}

/// Percent-encodes a TURN username or credential for the userinfo part of webrtcbin's URL.
pub(crate) fn userinfo_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
