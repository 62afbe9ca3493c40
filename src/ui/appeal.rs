//! The appeal block (`AppealAdapter`): topic, consent, recording, typed text, callback phone,
//! saving and receipt, and the callbacks of those pages.

use senim_protocol::Topic;
use slint::{ComponentHandle, SharedString};

use super::{keypad_digit, map_when, qr_image, secs, AppWindow, AppealAdapter, AppealKind};
use super::{AppealTopic, Sink};
use crate::flow::{self, Device, Event, Flow, Health, Millis, Screen as FlowScreen};

pub(super) fn map_topic(topic: AppealTopic) -> Topic {
    match topic {
        AppealTopic::Complaint => Topic::Complaint,
        AppealTopic::Request => Topic::Request,
        AppealTopic::Gratitude => Topic::Gratitude,
        AppealTopic::BribeReport => Topic::BribeReport,
        AppealTopic::Other => Topic::Other,
    }
}

pub(super) fn map_appeal_kind(kind: flow::AppealKind) -> AppealKind {
    match kind {
        flow::AppealKind::Video => AppealKind::Video,
        flow::AppealKind::Audio => AppealKind::Voice,
        flow::AppealKind::Typed => AppealKind::Typed,
    }
}

/// "+7 701 123 __ __": the callback number as typed so far.
pub fn phone_shown(digits: &str) -> String {
    let mut chars = digits.chars();
    let mut group = |n: usize| -> String { (0..n).map(|_| chars.next().unwrap_or('_')).collect() };
    format!("+7 {} {} {} {}", group(3), group(3), group(2), group(2))
}

pub(super) fn apply(window: &AppWindow, flow: &Flow, now: Millis, status_url: &str) {
    let appeal = window.global::<AppealAdapter>();
    let session = flow.session();
    appeal.set_countdown(i32::try_from(flow.countdown_remaining(now).unwrap_or(0)).unwrap_or(0));
    let elapsed = flow
        .recording_elapsed(now)
        .or_else(|| session.and_then(|s| s.recorded_ms))
        .unwrap_or(0);
    appeal.set_elapsed_seconds(secs(elapsed));
    appeal.set_max_seconds(secs(flow.config().max_recording_ms));
    appeal.set_camera_ok(flow.health(Device::Camera) != Health::Faulty);
    let kind = match flow.screen() {
        // Before consent: what the kiosk can do now; after it: what this appeal is.
        FlowScreen::AppealTopic | FlowScreen::AppealConsent => flow.appeal_kind_now(),
        _ => session.map(|s| s.appeal_kind).unwrap_or_default(),
    };
    appeal.set_kind(map_appeal_kind(kind));
    appeal.set_text(match flow.screen() {
        FlowScreen::AppealText { text } => text.as_str().into(),
        _ => SharedString::new(),
    });
    appeal.set_recording_failed(session.is_some_and(|s| s.recording_failed));
    let (phone, invalid) = match flow.screen() {
        FlowScreen::AppealPhone { digits, invalid } => (digits.clone(), *invalid),
        _ => (String::new(), false),
    };
    appeal.set_phone_shown(phone_shown(&phone).into());
    appeal.set_phone_digits(phone.into());
    appeal.set_phone_invalid(invalid);
    appeal.set_save_failed(matches!(
        flow.screen(),
        FlowScreen::AppealSaving { failed: true }
    ));
    match flow.screen() {
        FlowScreen::AppealReceipt { receipt } => {
            if appeal.get_receipt_number() != receipt.number.as_str() {
                let url = crate::config::status_url_for(
                    status_url,
                    &receipt.number,
                    receipt.check_code.as_str(),
                );
                let qr = url.as_deref().and_then(|u| qr_image(u, 8));
                appeal.set_receipt_qr(qr.unwrap_or_default());
                appeal.set_status_url(url.unwrap_or_default().into());
            }
            appeal.set_receipt_number(receipt.number.as_str().into());
            appeal.set_receipt_check_code(receipt.check_code.grouped().into());
            appeal.set_seen_now(receipt.seen_at.is_none());
            if let Some(at) = receipt.seen_at {
                appeal.set_seen_at(map_when(at));
            }
            appeal.set_offline(receipt.offline);
        }
        _ => {
            appeal.set_receipt_qr(slint::Image::default());
            appeal.set_status_url(SharedString::new());
            appeal.set_receipt_number(SharedString::new());
            appeal.set_receipt_check_code(SharedString::new());
            appeal.set_seen_now(true);
            appeal.set_offline(false);
        }
    }
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let appeal = window.global::<AppealAdapter>();
    {
        let send = send.clone();
        appeal.on_select_topic(move |t| send(Event::SelectTopic(map_topic(t))));
    }
    appeal.on_accept(on(Event::ConsentAccept));
    appeal.on_stop(on(Event::StopRecording));
    appeal.on_rerecord(on(Event::ReRecord));
    appeal.on_replay(on(Event::ReplayTake));
    {
        let send = send.clone();
        let weak = window.as_weak();
        appeal.on_text_key(move |key| {
            if let Some(w) = weak.upgrade() {
                let text = w.global::<AppealAdapter>().get_text();
                send(Event::AppealText(format!("{text}{key}")));
            }
        });
    }
    {
        let send = send.clone();
        let weak = window.as_weak();
        appeal.on_text_backspace(move || {
            if let Some(w) = weak.upgrade() {
                let mut text = w.global::<AppealAdapter>().get_text().to_string();
                text.pop();
                send(Event::AppealText(text));
            }
        });
    }
    appeal.on_send(on(Event::Send));
    appeal.on_digit(keypad_digit(send.clone()));
    appeal.on_backspace(on(Event::KeypadBackspace));
    appeal.on_submit_phone(on(Event::KeypadSubmit));
    appeal.on_skip_phone(on(Event::SkipPhone));
    appeal.on_done(on(Event::Continue));
}
