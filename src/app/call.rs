//! The live call on the UI thread: places it when the journey asks (`Effect::PlaceCall`) on the
//! camera's shared capture, turns its news into journey events, draws the operator's picture,
//! and records the call as the appeal's take (started once the call is connected, stopped when
//! it ends; the journey then saves it under the call's number).

use std::cell::RefCell;

use super::{post, App};
use crate::call::{self as live, CallNews, CallRequest, CallSetup, LiveCall};
use crate::flow::{CallEnd, Event};
use crate::identity::Iin;
use crate::sync;

/// The call under way, if any.
#[derive(Default)]
pub(super) struct CallSide {
    live: RefCell<Option<LiveCall>>,
    /// The call's id (its appeal's number), while it is placed.
    call_id: RefCell<Option<String>>,
}

/// The journey's words for how a call ended (`None`: the kiosk's own hang-up or cancel, which
/// the journey already acted on).
fn flow_end(end: live::CallEnd) -> Option<CallEnd> {
    match end {
        live::CallEnd::HungUpByOperator => Some(CallEnd::HungUpByOperator),
        live::CallEnd::HungUpByKiosk => None,
        live::CallEnd::Unanswered => Some(CallEnd::Unanswered),
        live::CallEnd::Unavailable => Some(CallEnd::Unavailable),
        live::CallEnd::Lost => Some(CallEnd::Lost),
        live::CallEnd::Failed => Some(CallEnd::Failed),
    }
}

impl App {
    /// Rings the operators: the call's number is made here (it is also the appeal's), the
    /// socket's token is read on the store thread, then the call starts on its own thread.
    pub(super) fn place_call(&self, topic: senim_protocol::Topic, iin: Option<Iin>) {
        self.end_call_now();
        let Some(config) = self.link.sync_config() else {
            tracing::warn!("live call: no call-centre is configured");
            post(|app| app.dispatch(Event::CallEnded(CallEnd::Failed)));
            return;
        };
        let call_id = crate::store::new_appeal_id();
        *self.call.call_id.borrow_mut() = Some(call_id.clone());
        let request = CallRequest {
            call_id: Some(call_id),
            topic,
            iin: iin.map(|i| i.as_str().to_string()),
            test: false,
        };
        let devices = self.config.camera.clone();
        let host_addresses = self.config.call.host_addresses.clone();
        let capture = self.lender();
        self.store.exec(move |store| {
            let endpoint = store
                .map_err(|e| e.to_string())
                .and_then(|s| s.enrolment().map_err(|e| e.to_string()))
                .and_then(|e| e.ok_or_else(|| "the kiosk is not enrolled".to_string()))
                .and_then(|e| {
                    sync::call::Endpoint::enrolled(
                        &config.backend_url,
                        config.ca_pem.as_deref(),
                        &e,
                    )
                    .map_err(|e| e.to_string())
                });
            post(move |app| match endpoint {
                Ok(endpoint) => app.start_call(
                    request,
                    CallSetup {
                        endpoint,
                        devices,
                        local_addresses: host_addresses,
                        ring_timeout: None,
                        capture,
                    },
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "live call: cannot reach the call socket");
                    app.dispatch(Event::CallEnded(CallEnd::Failed));
                }
            });
        });
    }

    fn start_call(&self, request: CallRequest, setup: CallSetup) {
        // The patient may have cancelled while the token was read.
        if self.call.call_id.borrow().as_ref() != request.call_id.as_ref() {
            return;
        }
        let id = request.call_id.clone();
        let sink = move |news: CallNews| {
            let id = id.clone();
            post(move |app| app.call_news(id, news));
        };
        match LiveCall::place(request, setup, sink) {
            Ok(call) => *self.call.live.borrow_mut() = Some(call),
            Err(e) => {
                tracing::warn!(error = %e, "live call: not placed");
                self.call.call_id.borrow_mut().take();
                self.dispatch(Event::CallEnded(CallEnd::Failed));
            }
        }
    }

    /// News of the call `id` (news of an earlier call is ignored).
    fn call_news(&self, id: Option<String>, news: CallNews) {
        if *self.call.call_id.borrow() != id {
            return;
        }
        match news {
            CallNews::Ringing { call_id } => self.dispatch(Event::CallRinging { call_id }),
            CallNews::Answered { operator } => self.dispatch(Event::CallAnswered { operator }),
            CallNews::Connected => {
                // The call's branch is on the capture now: the take records the call.
                self.start_recording_for(id);
            }
            CallNews::RemoteFrame(frame) => {
                crate::ui::show_operator_frame(&self.window, Some(frame.pixels));
            }
            CallNews::Ended { reason, detail } => {
                // `call::LiveCall` logs the end with its reason; nothing more to say here.
                let _ = detail;
                self.call.call_id.borrow_mut().take();
                self.stop_recording();
                if let Some(call) = self.call.live.borrow_mut().take() {
                    let s = call.stats();
                    tracing::info!(
                        operator_frames_received = s.operator_frames_received,
                        operator_frames_drawn = s.operator_frames_drawn,
                        audio_packets_received = s.audio_packets_received,
                        frames_sent = s.frames_sent,
                        "live call media"
                    );
                    // Its thread is finishing; joining it is not the UI thread's business.
                    let _ = std::thread::Builder::new()
                        .name("senim-call-drop".into())
                        .spawn(move || drop(call));
                }
                crate::ui::show_operator_frame(&self.window, None);
                if let Some(end) = flow_end(reason) {
                    self.dispatch(Event::CallEnded(end));
                }
            }
        }
    }

    /// The patient hung up, cancelled, or left: the take stops and the call ends; its `Ended`
    /// follows.
    pub(super) fn hang_up_call(&self) {
        self.stop_recording();
        match self.call.live.borrow().as_ref() {
            Some(call) => call.hang_up(),
            // Still reading the token: forget the call.
            None => {
                self.call.call_id.borrow_mut().take();
            }
        }
    }

    /// Ends whatever call is left before a new one (never two at once).
    fn end_call_now(&self) {
        self.call.call_id.borrow_mut().take();
        if let Some(call) = self.call.live.borrow_mut().take() {
            call.hang_up();
            let _ = std::thread::Builder::new()
                .name("senim-call-drop".into())
                .spawn(move || drop(call));
        }
    }

    pub(super) fn set_call_volume(&self, volume: u8) {
        if let Some(call) = self.call.live.borrow().as_ref() {
            call.set_volume(volume);
        }
    }
}
