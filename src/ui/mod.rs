//! Adapters between the Slint UI and the journey: flow state → adapter globals, callbacks → events.
//!
//! Rust talks to the UI only through the adapter globals of `ui/adapters.slint`, one per block
//! (the shell here, the others in this module's children). Every property is recomputed from
//! [`Flow`] by [`apply`], so nothing of a session can linger in the UI once the flow has dropped
//! it; [`connect`] turns every callback into a [`flow::Event`](crate::flow::Event). Enums cross
//! the boundary as Slint enums, translated by plain `map_*` functions; nothing here decides.

mod generated {
    #![allow(clippy::all, clippy::pedantic, unused_qualifications)]
    slint::include_modules!();
}

mod appeal;
mod attract;
mod call;
mod camera;
mod catalog_view;
mod guides;
mod identify;
mod technician;

use std::rc::Rc;

use chrono::{Datelike, NaiveDateTime};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

pub use appeal::phone_shown;
pub use call::{show_operator_frame, volume_step, VOLUME_STEP};
pub use camera::{show_frame, show_level};
pub use catalog_view::{qr_image, CatalogView};
pub use generated::*;
pub use guides::category_tiles;
pub use technician::{TechView, TestScan};

use crate::flow::{Event, Flow, Lang, Millis, Mode, Screen as FlowScreen, TechTest as FlowTest};

/// Where the adapters' callbacks send their events (the app feeds them to the journey).
pub type Sink = Rc<dyn Fn(Event)>;

/// Facts about this kiosk shown on the attract and technician screens.
#[derive(Debug, Clone, Default)]
pub struct KioskInfo {
    pub site_name: String,
    pub kiosk_id: String,
    pub version: String,
    /// What technician mode shows beyond the flow (wiped when it ends).
    pub tech: TechView,
    /// `Config::status_url_template`: the receipt's QR code links there (`{number}` and
    /// `{code}` replaced).
    pub status_url: String,
}

/// Switches the bundled translation catalogue (English is the source language).
pub fn select_language(lang: Lang) {
    if let Err(e) = slint::select_bundled_translation(lang.code()) {
        tracing::error!(language = lang.code(), error = ?e, "translation catalogue missing");
    }
}

fn map_language(lang: Lang) -> Language {
    match lang {
        Lang::Kk => Language::Kk,
        Lang::Ru => Language::Ru,
        Lang::En => Language::En,
    }
}

fn map_lang(language: Language) -> Lang {
    match language {
        Language::Kk => Lang::Kk,
        Language::Ru => Lang::Ru,
        Language::En => Lang::En,
    }
}

fn map_screen(s: &FlowScreen) -> Screen {
    match s {
        FlowScreen::Enrol { .. } => Screen::Enrol,
        FlowScreen::Attract => Screen::Attract,
        FlowScreen::Menu => Screen::Menu,
        FlowScreen::Identify { .. } => Screen::Identify,
        FlowScreen::Identified { .. } => Screen::Identified,
        FlowScreen::GuideCategories => Screen::GuideCategories,
        FlowScreen::GuideCatalog { .. } => Screen::GuideCatalog,
        FlowScreen::GuideSearch { .. } => Screen::GuideSearch,
        FlowScreen::GuideService { .. } => Screen::GuideService,
        FlowScreen::GuideStep { .. } => Screen::GuideStep,
        FlowScreen::GuideRating { .. } => Screen::GuideRating,
        FlowScreen::AppealTopic => Screen::AppealTopic,
        FlowScreen::AppealConsent => Screen::AppealConsent,
        FlowScreen::AppealNoRoom => Screen::AppealNoRoom,
        FlowScreen::AppealText { .. } => Screen::AppealText,
        FlowScreen::AppealCountdown { .. } => Screen::AppealCountdown,
        FlowScreen::AppealRecording { .. } => Screen::AppealRecording,
        FlowScreen::AppealReview => Screen::AppealReview,
        FlowScreen::AppealPhone { .. } => Screen::AppealPhone,
        FlowScreen::AppealSaving { .. } => Screen::AppealSaving,
        FlowScreen::AppealReceipt { .. } => Screen::AppealReceipt,
        FlowScreen::CallRinging { .. } => Screen::CallRinging,
        FlowScreen::InCall { .. } => Screen::InCall,
        FlowScreen::CallEnded { .. } => Screen::CallEnded,
        FlowScreen::TechnicianPin { .. } => Screen::TechnicianPin,
        FlowScreen::TechnicianHome => Screen::TechnicianHome,
        FlowScreen::TechnicianTest(FlowTest::Scanner) => Screen::TechnicianScanner,
        FlowScreen::TechnicianTest(FlowTest::Camera) => Screen::TechnicianCamera,
        FlowScreen::TechnicianTest(FlowTest::Printer) => Screen::TechnicianPrinter,
    }
}

/// Screens where the top bar's "Back" makes sense.
fn can_go_back(s: &FlowScreen) -> bool {
    matches!(
        s,
        FlowScreen::Menu
            | FlowScreen::Identify { .. }
            | FlowScreen::GuideCategories
            | FlowScreen::GuideCatalog { .. }
            | FlowScreen::GuideSearch { .. }
            | FlowScreen::GuideService { .. }
            | FlowScreen::GuideStep { .. }
            | FlowScreen::AppealTopic
            | FlowScreen::AppealConsent
            | FlowScreen::AppealNoRoom
            | FlowScreen::AppealText { .. }
            | FlowScreen::AppealCountdown { .. }
            | FlowScreen::AppealPhone { .. }
            | FlowScreen::CallRinging { .. }
            | FlowScreen::TechnicianPin { .. }
            | FlowScreen::TechnicianTest(_)
    )
}

fn map_when(at: NaiveDateTime) -> When {
    When {
        weekday: i32::try_from(at.weekday().num_days_from_monday()).unwrap_or(0),
        day: i32::try_from(at.day()).unwrap_or(1),
        month: i32::try_from(at.month()).unwrap_or(1),
        time: at.format("%H:%M").to_string().into(),
    }
}

fn secs(ms: Millis) -> i32 {
    i32::try_from(ms / 1000).unwrap_or(i32::MAX)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Replaces a model only when its rows changed, so an unchanged list keeps its scroll position.
fn set_rows<T: Clone + PartialEq + 'static>(
    old: ModelRc<T>,
    new: Vec<T>,
    set: impl FnOnce(ModelRc<T>),
) {
    if old.row_count() != new.len() || old.iter().zip(&new).any(|(a, b)| &a != b) {
        set(ModelRc::new(VecModel::from(new)));
    }
}

fn digit(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() => Some(c),
        _ => None,
    }
}

/// A keypad's digit callback: one ASCII digit becomes [`Event::KeypadDigit`], anything else is
/// dropped.
fn keypad_digit(send: Sink) -> impl Fn(SharedString) {
    move |d: SharedString| {
        if let Some(c) = digit(&d) {
            send(Event::KeypadDigit(c));
        }
    }
}

/// Sets every adapter property from the journey state.
pub fn apply(window: &AppWindow, flow: &Flow, guides: &CatalogView, info: &KioskInfo, now: Millis) {
    let current = flow.screen();

    let shell = window.global::<ShellAdapter>();
    shell.set_screen(map_screen(current));
    shell.set_language(map_language(flow.lang()));
    shell.set_site_name(info.site_name.as_str().into());
    shell.set_hospital(flow.mode() == Mode::Hospital);
    shell.set_can_go_back(can_go_back(current));
    let idle = flow.idle_warning_remaining(now);
    shell.set_idle_warning(idle.is_some());
    shell.set_idle_seconds_left(i32::try_from(idle.unwrap_or(0)).unwrap_or(0));
    shell.set_online(flow.online());
    shell.set_pending(i32::try_from(flow.pending()).unwrap_or(i32::MAX));
    shell.set_speaking(flow.speaking());
    shell.set_volume(i32::from(flow.speech_volume()));
    shell.set_large_text(flow.large_text());

    attract::apply(window, flow, info);
    identify::apply(window, flow);
    guides::apply(window, flow, guides);
    appeal::apply(window, flow, now, &info.status_url);
    call::apply(window, flow, now);
    technician::apply(window, flow, info, now);
}

/// Wires every adapter callback to `send`, which feeds the event to the journey.
pub fn connect(window: &AppWindow, send: Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };

    let shell = window.global::<ShellAdapter>();
    {
        let send = send.clone();
        shell.on_set_language(move |l| send(Event::SetLanguage(map_lang(l))));
    }
    shell.on_back(on(Event::Back));
    shell.on_finish(on(Event::EndSession));
    shell.on_still_here(on(Event::StillHere));
    shell.on_touched(on(Event::Touch));
    shell.on_listen(on(Event::Listen));
    shell.on_quieter(on(Event::Quieter));
    shell.on_louder(on(Event::Louder));
    shell.on_toggle_large_text(on(Event::ToggleLargeText));

    attract::connect(window, &send);
    identify::connect(window, &send);
    guides::connect(window, &send);
    appeal::connect(window, &send);
    call::connect(window, &send);
    technician::connect(window, &send);
}

/// Tells the theme the screen's physical size ([display] diagonal_inches), from which it makes
/// every touch target at least 15 mm.
pub fn set_screen_diagonal(window: &AppWindow, inches: f32) {
    window.global::<Theme>().set_diagonal_inches(inches);
}

/// For tests: the flow's screens as the UI names them.
pub fn screen_of(flow: &Flow) -> Screen {
    map_screen(flow.screen())
}
