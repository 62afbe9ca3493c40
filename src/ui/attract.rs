//! The doors in (`AttractAdapter`, `EnrolAdapter`, `MenuAdapter`): the attract screen with the
//! call-centre's hours, the enrolment screen and the journey menu.

use slint::ComponentHandle;

use super::{map_when, AppWindow, AttractAdapter, EnrolAdapter, KioskInfo, MenuAdapter, Sink};
use crate::flow::{CallCentreStatus, Event, Flow, Journey, Screen as FlowScreen};

pub(super) fn apply(window: &AppWindow, flow: &Flow, info: &KioskInfo) {
    let attract = window.global::<AttractAdapter>();
    match flow.callcentre() {
        CallCentreStatus::Open => attract.set_callcentre_open(true),
        CallCentreStatus::Closed { next_open } => {
            attract.set_callcentre_open(false);
            attract.set_next_open(map_when(next_open));
        }
    }

    let enrol = window.global::<EnrolAdapter>();
    let (busy, error) = match flow.screen() {
        FlowScreen::Enrol { busy, error } => (*busy, error.unwrap_or("")),
        _ => (false, ""),
    };
    enrol.set_busy(busy);
    enrol.set_error(error.into());
    enrol.set_version(info.version.as_str().into());
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let attract = window.global::<AttractAdapter>();
    attract.on_start(on(Event::Start));
    attract.on_technician_gesture(on(Event::TechnicianGesture));

    let menu = window.global::<MenuAdapter>();
    menu.on_choose_appeal(on(Event::Choose(Journey::Appeal)));
    menu.on_choose_guide(on(Event::Choose(Journey::Guide)));
}
