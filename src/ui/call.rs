//! The call block (`CallAdapter`): the consent page's call offer, ringing, the call (the
//! operator's picture, name, time, volume) and how it ended, and the callbacks of those pages.

use slint::{ComponentHandle, Rgb8Pixel, SharedPixelBuffer, SharedString};

use super::{map_when, secs, AppWindow, CallAdapter, CallEndReason, CallOffer, CallSaving, Sink};
use crate::flow::{self, CallCentreStatus, Event, Flow, Millis, Screen as FlowScreen};

/// How much one press of "quieter" or "louder" changes the volume (of 0..=100).
pub const VOLUME_STEP: u8 = 10;

/// Shows the operator's picture on the in-call page; `None` clears it ("connecting…").
pub fn show_operator_frame(window: &AppWindow, pixels: Option<SharedPixelBuffer<Rgb8Pixel>>) {
    let image = pixels.map(slint::Image::from_rgb8).unwrap_or_default();
    window.global::<CallAdapter>().set_operator_frame(image);
}

fn map_offer(offer: flow::CallOffer) -> CallOffer {
    match offer {
        flow::CallOffer::Offered => CallOffer::Offered,
        flow::CallOffer::Closed => CallOffer::Closed,
        flow::CallOffer::NobodyAvailable => CallOffer::NobodyAvailable,
        flow::CallOffer::Offline => CallOffer::Offline,
        flow::CallOffer::NoCamera => CallOffer::NoCamera,
        flow::CallOffer::NoRoom => CallOffer::NoRoom,
    }
}

fn map_end(end: flow::CallEnd) -> CallEndReason {
    match end {
        flow::CallEnd::Unanswered => CallEndReason::Unanswered,
        flow::CallEnd::Unavailable => CallEndReason::Unavailable,
        flow::CallEnd::Failed => CallEndReason::Failed,
        // An operator's hang-up leads to the receipt; the page never shows it.
        flow::CallEnd::Lost | flow::CallEnd::HungUpByOperator => CallEndReason::Lost,
    }
}

/// The volume one step quieter or louder than `now`, within 0..=100.
pub fn volume_step(now: i32, louder: bool) -> u8 {
    let now = u8::try_from(now.clamp(0, 100)).unwrap_or(0);
    if louder {
        now.saturating_add(VOLUME_STEP).min(100)
    } else {
        now.saturating_sub(VOLUME_STEP)
    }
}

pub(super) fn apply(window: &AppWindow, flow: &Flow, now: Millis) {
    let call = window.global::<CallAdapter>();
    call.set_offer(map_offer(flow.call_offer()));
    if let CallCentreStatus::Closed { next_open } = flow.callcentre() {
        call.set_next_open(map_when(next_open));
    }
    call.set_elapsed_seconds(secs(flow.call_elapsed(now).unwrap_or(0)));
    call.set_volume(i32::from(flow.call_volume()));
    match flow.screen() {
        FlowScreen::InCall { operator, .. } => call.set_operator(operator.as_str().into()),
        _ => {
            call.set_operator(SharedString::new());
            // The operator's picture goes with the call.
            call.set_operator_frame(slint::Image::default());
        }
    }
    if let FlowScreen::CallEnded { why } = flow.screen() {
        call.set_ended(map_end(*why));
    }
    let saved = flow.session().and_then(|s| s.call_saved.as_ref());
    call.set_saving(match saved {
        None => CallSaving::None,
        Some(flow::CallSaved::Saving) => CallSaving::Saving,
        Some(flow::CallSaved::Saved(..)) => CallSaving::Saved,
        Some(flow::CallSaved::Failed) => CallSaving::Failed,
    });
    call.set_saved_number(match saved {
        Some(flow::CallSaved::Saved(number, _)) => number.as_str().into(),
        _ => SharedString::new(),
    });
    call.set_saved_check_code(match saved {
        Some(flow::CallSaved::Saved(_, code)) => code.grouped().into(),
        _ => SharedString::new(),
    });
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let call = window.global::<CallAdapter>();
    call.on_call_now(on(Event::CallNow));
    // "Cancel the call" is the ringing page's "Back".
    call.on_cancel(on(Event::Back));
    call.on_hang_up(on(Event::HangUp));
    // "Record an appeal": consent was given on the consent page.
    call.on_record_instead(on(Event::ConsentAccept));
    call.on_retry_save(on(Event::Send));
    for louder in [false, true] {
        let send = send.clone();
        let weak = window.as_weak();
        let step = move || {
            if let Some(w) = weak.upgrade() {
                let now = w.global::<CallAdapter>().get_volume();
                send(Event::CallVolume(volume_step(now, louder)));
            }
        };
        if louder {
            call.on_volume_up(step);
        } else {
            call.on_volume_down(step);
        }
    }
}
