//! The identify block (`IdentifyAdapter`): scan or type the IIN, the refusal shown, and the
//! identified citizen's masked IIN.

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::{keypad_digit, AppWindow, IdentifyAdapter, Sink};
use crate::flow::{Device, Event, Flow, Health, Screen as FlowScreen};

/// The twelve IIN boxes: one digit each, "" when not typed yet.
fn digit_boxes(digits: &str) -> Vec<SharedString> {
    let mut chars = digits.chars();
    (0..12)
        .map(|_| {
            chars
                .next()
                .map(|c| c.to_string())
                .unwrap_or_default()
                .into()
        })
        .collect()
}

pub(super) fn apply(window: &AppWindow, flow: &Flow) {
    let identify = window.global::<IdentifyAdapter>();
    let (manual, digits, error) = match flow.screen() {
        FlowScreen::Identify { manual, error } => (
            manual.is_some(),
            manual.clone().unwrap_or_default(),
            error.unwrap_or(""),
        ),
        _ => (false, String::new(), ""),
    };
    identify.set_manual(manual);
    identify.set_digit_boxes(ModelRc::new(VecModel::from(digit_boxes(&digits))));
    identify.set_digits(digits.into());
    identify.set_error(error.into());
    identify.set_scanner_faulty(flow.health(Device::Scanner) == Health::Faulty);
    identify.set_camera_qr(flow.health(Device::Camera) == Health::Ok);
    identify.set_masked_iin(
        flow.session()
            .and_then(|s| s.identity.as_ref())
            .map(|iin| iin.masked())
            .unwrap_or_default()
            .into(),
    );
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let identify = window.global::<IdentifyAdapter>();
    identify.on_open_manual(on(Event::ManualOpen));
    identify.on_digit(keypad_digit(send.clone()));
    identify.on_backspace(on(Event::KeypadBackspace));
    identify.on_submit(on(Event::KeypadSubmit));
    identify.on_continue(on(Event::Continue));
}
