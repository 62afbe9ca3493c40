//! The call's engine thread: owns the pipeline and `webrtcbin`, turns commands, webrtcbin's
//! signals and bus messages into signalling steps, state changes and events, and watches a
//! connected call for silence (a peer that vanished).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;

use super::pipeline::{self, Remote};
use super::{sdp, CallConfig, CallError, CallEvent, CallState, Command, Counters, IceServer, Sink};
use crate::devices::camera::CameraConfig;

/// How often the engine looks at its timers (counters, silence, connect deadline).
const TICK: Duration = Duration::from_millis(100);
/// Interval of `Counters` events.
const COUNTERS_EVERY: Duration = Duration::from_secs(1);

/// What the engine thread receives.
pub(crate) enum Msg {
    Command(Command),
    NegotiationNeeded,
    OfferCreated(Result<gst_webrtc::WebRTCSessionDescription, String>),
    RemoteDescriptionSet(Result<(), String>),
    LocalCandidate { mline: u32, candidate: String },
    ConnectionState(gst_webrtc::WebRTCPeerConnectionState),
    RemoteLinked(Result<Remote, CallError>),
    Bus(gst::Message),
    Shutdown,
}

pub(crate) struct Engine {
    call: CallConfig,
    devices: CameraConfig,
    sink: Sink,
    tx: Sender<Msg>,
    counters: Arc<Counters>,
    offered: Arc<Mutex<Option<Vec<String>>>>,
    pipeline: Option<gst::Pipeline>,
    webrtc: Option<gst::Element>,
    negotiation_needed: bool,
    offer_wanted: bool,
    offer_requested: bool,
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
    ) -> Engine {
        Engine {
            call,
            devices,
            sink,
            tx,
            counters,
            offered,
            pipeline: None,
            webrtc: None,
            negotiation_needed: false,
            offer_wanted: false,
            offer_requested: false,
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

    /// Builds the pipeline, hooks webrtcbin's signals, sets the ICE servers and starts it.
    fn start(&mut self) -> Result<(), CallError> {
        pipeline::init(&self.devices)?;
        let (pipe, webrtc) = pipeline::build(&self.devices, &self.counters)?;
        self.pipeline = Some(pipe.clone());
        self.webrtc = Some(webrtc.clone());
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
        let weak = pipe.downgrade();
        let devices = self.devices.clone();
        let counters = Arc::clone(&self.counters);
        let sink = Arc::clone(&self.sink);
        webrtc.connect_pad_added(move |_, pad| {
            if pad.direction() != gst::PadDirection::Src {
                return;
            }
            let Some(pipe) = weak.upgrade() else { return };
            let linked = pipeline::link_remote(&pipe, pad, &devices, &counters, &sink);
            let _ = tx.send(Msg::RemoteLinked(linked));
        });

        pipe.set_state(gst::State::Playing)
            .map_err(|_| CallError::Device {
                device: if self.devices.has_video() {
                    "camera"
                } else {
                    "microphone"
                },
                reason: "the call pipeline did not start (a device did not open)".into(),
            })?;
        Ok(())
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

    /// Stops the pipeline (devices close) and ends the thread's loop.
    fn teardown(&mut self) {
        self.done = true;
        self.counters
            .over
            .store(true, std::sync::atomic::Ordering::Release);
        self.webrtc = None;
        if let Some(pipe) = self.pipeline.take() {
            if let Some(bus) = pipe.bus() {
                bus.unset_sync_handler();
            }
            let _ = pipe.set_state(gst::State::Null);
            self.emit(CallEvent::Counters(self.counters.snapshot()));
        }
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
