//! The call's own thread ([`Control`]): rings, runs the signalling both ways, starts the media
//! on the answer (on the camera's shared capture when the setup lends one), and ends in exactly
//! one `Ended`.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use senim_protocol::call::{EndReason, ErrorCode, IceServer, KioskMessage, ToKiosk};
use senim_protocol::Topic;

use super::{ice, CallEnd, CallNews, CallSetup, CallStats, Input};
use crate::devices::call::{self as media, CallEvent, CallMedia, CallState};
use crate::sync::call::{Incoming, Signalling};

/// Creates the call's media: on the camera's shared capture when the setup lends one, else
/// with devices of its own.
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
    let sink = move |event| {
        let _ = tx.send(Input::Media(event));
    };
    match &setup.capture {
        Some(lender) => {
            CallMedia::start_shared(config, setup.devices.clone(), lender.clone(), sink)
        }
        None => CallMedia::start(config, setup.devices.clone(), sink),
    }
}

/// The call's thread: everything that happens to the call, in order.
pub(super) struct Control {
    pub(super) setup: CallSetup,
    pub(super) signalling: Signalling,
    pub(super) tx: Sender<Input>,
    pub(super) rx: Receiver<Input>,
    pub(super) stats: Arc<Mutex<CallStats>>,
    pub(super) sink: Box<dyn Fn(CallNews) + Send>,
    pub(super) call_id: Option<String>,
    pub(super) ice_servers: Vec<IceServer>,
    pub(super) media: Option<CallMedia>,
    /// Why the media failed, from its `Failed` event.
    pub(super) failure: Option<String>,
    /// `ringing` came.
    pub(super) rang: bool,
    pub(super) rang_at: Instant,
    pub(super) volume: u8,
}

/// How a step of the call went on.
enum Step {
    Go,
    End(CallEnd, String),
}

impl Control {
    pub(super) fn run(mut self, ring: KioskMessage, test: bool, topic: Topic) {
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
                    self.volume = v;
                    if let Some(media) = &self.media {
                        media.set_volume(v);
                    }
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
                        m.set_volume(self.volume);
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
