//! Adapters between the Slint UI and the journey: flow state → adapter globals, callbacks → events.
//!
//! Rust talks to the UI only through the `XxxAdapter` globals of `ui/adapters.slint`. Every
//! property is recomputed from [`Flow`] by [`apply`], so nothing of a session can linger in
//! the UI once the flow has dropped it.

mod generated {
    #![allow(clippy::all, clippy::pedantic, unused_qualifications)]
    slint::include_modules!();
}

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{Datelike, NaiveDateTime};
use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

pub use generated::*;

use crate::catalog::Catalog;
use crate::flow::{
    AppealKind, CallCentreStatus, Device, Event, Flow, Health, Journey, Lang, Millis, Mode, Rating,
    Screen as FlowScreen, TechTest,
};
use senim_protocol::Topic;

/// Facts about this kiosk shown on the attract and technician screens.
#[derive(Debug, Clone, Default)]
pub struct KioskInfo {
    pub site_name: String,
    pub kiosk_id: String,
    pub version: String,
    /// What technician mode shows beyond the flow (wiped when it ends).
    pub tech: TechView,
    /// `[appeal] status_url`: the receipt's QR code links there (`{number}` replaced).
    pub status_url: String,
}

/// Technician mode's view: the checks, the delivery queue, the last test scan, the printer test.
#[derive(Debug, Clone, Default)]
pub struct TechView {
    pub checks: Vec<crate::doctor::Check>,
    pub checks_running: bool,
    pub sync_bytes: u64,
    pub sync_last_success: Option<chrono::DateTime<chrono::Utc>>,
    pub sync_last_error: Option<String>,
    pub microphone: Health,
    pub scan: Option<TestScan>,
    /// The last test slip: printed, or why not.
    pub printer: Option<Result<(), String>>,
}

/// A read on the scanner test page, byte by byte (the technician's own test card).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TestScan {
    pub kind: String,
    pub valid: bool,
    pub symbology: String,
    pub text: String,
    pub hex: String,
}

impl std::fmt::Debug for TestScan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestScan")
            .field("kind", &self.kind)
            .field("valid", &self.valid)
            .finish_non_exhaustive()
    }
}

/// Switches the bundled translation catalogue (English is the source language).
pub fn select_language(lang: Lang) {
    if let Err(e) = slint::select_bundled_translation(lang.code()) {
        tracing::error!(language = lang.code(), error = ?e, "translation catalogue missing");
    }
}

fn language(lang: Lang) -> Language {
    match lang {
        Lang::Kk => Language::Kk,
        Lang::Ru => Language::Ru,
        Lang::En => Language::En,
    }
}

fn lang(language: Language) -> Lang {
    match language {
        Language::Kk => Lang::Kk,
        Language::Ru => Lang::Ru,
        Language::En => Lang::En,
    }
}

fn screen(s: &FlowScreen) -> Screen {
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
        FlowScreen::TechnicianPin { .. } => Screen::TechnicianPin,
        FlowScreen::TechnicianHome => Screen::TechnicianHome,
        FlowScreen::TechnicianTest(TechTest::Scanner) => Screen::TechnicianScanner,
        FlowScreen::TechnicianTest(TechTest::Camera) => Screen::TechnicianCamera,
        FlowScreen::TechnicianTest(TechTest::Printer) => Screen::TechnicianPrinter,
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
            | FlowScreen::TechnicianPin { .. }
            | FlowScreen::TechnicianTest(_)
    )
}

fn when(at: NaiveDateTime) -> When {
    When {
        weekday: i32::try_from(at.weekday().num_days_from_monday()).unwrap_or(0),
        day: i32::try_from(at.day()).unwrap_or(1),
        month: i32::try_from(at.month()).unwrap_or(1),
        time: at.format("%H:%M").to_string().into(),
    }
}

fn health(h: Health) -> i32 {
    match h {
        Health::Absent => 0,
        Health::Ok => 1,
        Health::Faulty => 2,
    }
}

fn secs(ms: Millis) -> i32 {
    i32::try_from(ms / 1000).unwrap_or(i32::MAX)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The catalogue as the screens show it: the validated catalogue, its SVG drawings decoded on
/// first use, and each service's portal link as a QR code. Lives on the UI thread; build a new
/// one to switch catalogues (between citizens).
pub struct CatalogView {
    catalog: Catalog,
    images: RefCell<HashMap<String, slint::Image>>,
    qr: RefCell<HashMap<usize, slint::Image>>,
}

/// Pixels per QR module: a phone camera reads it from an arm's length.
const QR_SCALE: usize = 8;
/// A step text longer than this is set a size smaller (see `GuideAdapter.step-text-long`).
const LONG_STEP_TEXT: usize = 150;

impl CatalogView {
    pub fn new(catalog: Catalog) -> CatalogView {
        CatalogView {
            catalog,
            images: RefCell::default(),
            qr: RefCell::default(),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A drawing of the catalogue; an empty image (and a warning) if it cannot be decoded.
    pub fn image(&self, path: &str) -> slint::Image {
        if let Some(image) = self.images.borrow().get(path) {
            return image.clone();
        }
        let image = match self.catalog.image(path) {
            Some(svg) => slint::Image::load_from_svg_data(svg.as_bytes()).unwrap_or_else(|_| {
                tracing::warn!(path, "illustration cannot be drawn; shown without it");
                slint::Image::default()
            }),
            None => slint::Image::default(),
        };
        self.images
            .borrow_mut()
            .insert(path.to_string(), image.clone());
        image
    }

    /// The QR code of a service's portal page.
    fn qr(&self, service: usize) -> slint::Image {
        if let Some(image) = self.qr.borrow().get(&service) {
            return image.clone();
        }
        let image = self
            .catalog
            .services
            .get(service)
            .and_then(|s| qr_image(&s.portal_url, QR_SCALE))
            .unwrap_or_default();
        self.qr.borrow_mut().insert(service, image.clone());
        image
    }

    fn category_icon(&self, category: &str) -> slint::Image {
        self.catalog
            .categories
            .iter()
            .find(|c| c.id == category)
            .map(|c| self.image(&c.icon))
            .unwrap_or_default()
    }
}

fn service_tile(view: &CatalogView, lang: Lang, index: usize) -> Option<ServiceTile> {
    let s = view.catalog.services.get(index)?;
    Some(ServiceTile {
        index: count(index),
        title: s.title.get(lang).into(),
        summary: s.summary.get(lang).into(),
        free: s.free,
        steps: count(s.steps.len()),
        icon: view.category_icon(&s.category),
    })
}

/// The tiles of the guides' home screen.
pub fn category_tiles(view: &CatalogView, lang: Lang) -> Vec<CategoryTile> {
    view.catalog
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryTile {
            index: count(i),
            title: c.title.get(lang).into(),
            icon: view.image(&c.icon),
            count: count(
                view.catalog
                    .services
                    .iter()
                    .filter(|s| s.category == c.id)
                    .count(),
            ),
        })
        .collect()
}

/// "https://www.gov.kz/services/3009" → "www.gov.kz/services/3009".
fn portal_shown(url: &str) -> String {
    let bare = url.strip_prefix("https://").unwrap_or(url);
    bare.strip_suffix('/').unwrap_or(bare).to_string()
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

/// A QR code as an image for the screen: black on white, `scale` whole pixels per module so
/// it stays crisp for a phone camera. `None` (and a warning) if the text cannot be encoded.
pub fn qr_image(text: &str, scale: usize) -> Option<slint::Image> {
    let qr = match crate::qr::QrMatrix::encode(text) {
        Ok(qr) => qr,
        Err(e) => {
            tracing::warn!(error = %e, "QR code not shown");
            return None;
        }
    };
    let (side, luma) = qr.to_luma(scale);
    let side32 = u32::try_from(side).ok()?;
    let mut buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side32, side32);
    for (pixel, l) in buffer.make_mut_slice().iter_mut().zip(luma) {
        *pixel = slint::Rgb8Pixel { r: l, g: l, b: l };
    }
    Some(slint::Image::from_rgb8(buffer))
}

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

/// "+7 701 123 __ __": the callback number as typed so far.
pub fn phone_shown(digits: &str) -> String {
    let mut chars = digits.chars();
    let mut group = |n: usize| -> String { (0..n).map(|_| chars.next().unwrap_or('_')).collect() };
    format!("+7 {} {} {} {}", group(3), group(3), group(2), group(2))
}

/// Sets every adapter property from the journey state.
pub fn apply(window: &AppWindow, flow: &Flow, guides: &CatalogView, info: &KioskInfo, now: Millis) {
    let current = flow.screen();
    let session = flow.session();

    let shell = window.global::<ShellAdapter>();
    shell.set_screen(screen(current));
    shell.set_language(language(flow.lang()));
    shell.set_site_name(info.site_name.as_str().into());
    shell.set_hospital(flow.mode() == Mode::Hospital);
    shell.set_can_go_back(can_go_back(current));
    let idle = flow.idle_warning_remaining(now);
    shell.set_idle_warning(idle.is_some());
    shell.set_idle_seconds_left(i32::try_from(idle.unwrap_or(0)).unwrap_or(0));
    shell.set_online(flow.online());
    shell.set_pending(i32::try_from(flow.pending()).unwrap_or(i32::MAX));

    let attract = window.global::<AttractAdapter>();
    match flow.callcentre() {
        CallCentreStatus::Open => attract.set_callcentre_open(true),
        CallCentreStatus::Closed { next_open } => {
            attract.set_callcentre_open(false);
            attract.set_next_open(when(next_open));
        }
    }

    let enrol = window.global::<EnrolAdapter>();
    let (busy, error) = match current {
        FlowScreen::Enrol { busy, error } => (*busy, error.unwrap_or("")),
        _ => (false, ""),
    };
    enrol.set_busy(busy);
    enrol.set_error(error.into());
    enrol.set_version(info.version.as_str().into());

    let identify = window.global::<IdentifyAdapter>();
    let (manual, digits, error) = match current {
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
        session
            .and_then(|s| s.identity.as_ref())
            .map(|iin| iin.masked())
            .unwrap_or_default()
            .into(),
    );

    apply_guide(window, flow, guides);
    apply_appeal(window, flow, now, &info.status_url);

    let tech = window.global::<TechnicianAdapter>();
    let (pin_length, wrong) = match current {
        FlowScreen::TechnicianPin { digits, wrong } => (digits.len(), *wrong),
        _ => (0, false),
    };
    tech.set_pin_length(count(pin_length));
    tech.set_wrong(wrong);
    tech.set_locked_seconds(i32::try_from(flow.pin_locked_for(now)).unwrap_or(i32::MAX));
    tech.set_kiosk_id(info.kiosk_id.as_str().into());
    tech.set_version(info.version.as_str().into());
    tech.set_scanner(health(flow.health(Device::Scanner)));
    tech.set_camera(health(flow.health(Device::Camera)));
    tech.set_printer(health(flow.health(Device::Printer)));
    apply_tech(&tech, &info.tech);
}

fn apply_tech(tech: &TechnicianAdapter, view: &TechView) {
    let rows: Vec<CheckRow> = view
        .checks
        .iter()
        .map(|c| CheckRow {
            level: match c.level {
                crate::doctor::Level::Ok => 0,
                crate::doctor::Level::Warn => 1,
                crate::doctor::Level::Fail => 2,
            },
            name: c.check.into(),
            detail: c.detail.as_str().into(),
            hint: c.hint.as_deref().unwrap_or_default().into(),
        })
        .collect();
    let old = tech.get_checks();
    if old.row_count() != rows.len() || old.iter().zip(&rows).any(|(a, b)| &a != b) {
        tech.set_checks(ModelRc::new(VecModel::from(rows)));
    }
    tech.set_checks_running(view.checks_running);
    tech.set_sync_bytes(format!("{:.1} MB", view.sync_bytes as f64 / 1e6).into());
    tech.set_sync_last_success(
        view.sync_last_success
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default()
            .into(),
    );
    tech.set_sync_last_error(view.sync_last_error.clone().unwrap_or_default().into());
    tech.set_microphone(health(view.microphone));
    let scan = view.scan.clone().unwrap_or_default();
    tech.set_scan_kind(scan.kind.into());
    tech.set_scan_valid(scan.valid);
    tech.set_scan_symbology(scan.symbology.into());
    tech.set_scan_text(scan.text.into());
    tech.set_scan_hex(scan.hex.into());
    let (result, ok) = match &view.printer {
        None => (String::new(), false),
        Some(Ok(())) => ("printed".to_string(), true),
        Some(Err(e)) => (e.clone(), false),
    };
    tech.set_printer_result(result.into());
    tech.set_printer_ok(ok);
}

fn apply_guide(window: &AppWindow, flow: &Flow, view: &CatalogView) {
    let guide = window.global::<GuideAdapter>();
    let lang = flow.lang();
    let catalog = view.catalog();

    let categories = match flow.screen() {
        FlowScreen::GuideCategories => category_tiles(view, lang),
        _ => Vec::new(),
    };
    set_rows(guide.get_categories(), categories, |m| {
        guide.set_categories(m)
    });

    let (listed, query, keyboard, category) = match flow.screen() {
        FlowScreen::GuideCatalog { category } => {
            let id = catalog.categories.get(*category).map(|c| c.id.as_str());
            let listed = (0..catalog.services.len())
                .filter(|i| Some(catalog.services[*i].category.as_str()) == id)
                .collect();
            (listed, "", false, catalog.categories.get(*category))
        }
        FlowScreen::GuideSearch { query, keyboard } => {
            (catalog.search(query), query.as_str(), *keyboard, None)
        }
        _ => (Vec::new(), "", false, None),
    };
    let tiles = listed
        .into_iter()
        .filter_map(|i| service_tile(view, lang, i))
        .collect();
    set_rows(guide.get_services(), tiles, |m| guide.set_services(m));
    guide.set_list_title(category.map(|c| c.title.get(lang)).unwrap_or("").into());
    guide.set_list_icon(category.map(|c| view.image(&c.icon)).unwrap_or_default());
    guide.set_keyboard(keyboard);
    guide.set_search_text(query.into());

    let (service, step, consultant) = match flow.screen() {
        FlowScreen::GuideService { service } | FlowScreen::GuideRating { service } => {
            (Some(*service), 0, false)
        }
        FlowScreen::GuideStep {
            service,
            step,
            consultant_called,
        } => (Some(*service), *step, *consultant_called),
        _ => (None, 0, false),
    };
    let s = service.and_then(|i| catalog.services.get(i));
    let text = |f: &dyn Fn(&crate::catalog::Service) -> &str| -> SharedString {
        s.map(f).unwrap_or_default().into()
    };
    guide.set_title(text(&|s| s.title.get(lang)));
    guide.set_summary(text(&|s| s.summary.get(lang)));
    guide.set_gives(text(&|s| s.gives.get(lang)));
    let documents: Vec<SharedString> = s
        .map(|s| s.documents.iter().map(|d| d.get(lang).into()).collect())
        .unwrap_or_default();
    set_rows(guide.get_documents(), documents, |m| guide.set_documents(m));
    guide.set_free(s.is_none_or(|s| s.free));
    guide.set_fee(text(&|s| s.fee.as_ref().map_or("", |f| f.get(lang))));
    guide.set_portal_shown(
        s.map(|s| portal_shown(&s.portal_url))
            .unwrap_or_default()
            .into(),
    );
    guide.set_icon(
        s.map(|s| view.category_icon(&s.category))
            .unwrap_or_default(),
    );
    let current = s.and_then(|s| s.steps.get(step));
    let step_text = current.map_or("", |st| st.text.get(lang));
    guide.set_step(count(step));
    guide.set_step_count(count(s.map_or(0, |s| s.steps.len())));
    guide.set_step_text(step_text.into());
    guide.set_step_text_long(step_text.chars().count() > LONG_STEP_TEXT);
    guide.set_step_image(current.map(|st| view.image(&st.image)).unwrap_or_default());
    let on_steps = matches!(flow.screen(), FlowScreen::GuideStep { .. });
    guide.set_qr(match service {
        Some(i) if on_steps => view.qr(i),
        _ => slint::Image::default(),
    });
    guide.set_consultant_called(consultant);
}

fn apply_appeal(window: &AppWindow, flow: &Flow, now: Millis, status_url: &str) {
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
    appeal.set_kind(match kind {
        AppealKind::Video => 0,
        AppealKind::Audio => 1,
        AppealKind::Typed => 2,
    });
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
                let url = crate::config::status_url_for(status_url, &receipt.number);
                let qr = url.as_deref().and_then(|u| qr_image(u, 8));
                appeal.set_receipt_qr(qr.unwrap_or_default());
                appeal.set_status_url(url.unwrap_or_default().into());
            }
            appeal.set_receipt_number(receipt.number.as_str().into());
            appeal.set_seen_now(receipt.seen_at.is_none());
            if let Some(at) = receipt.seen_at {
                appeal.set_seen_at(when(at));
            }
            appeal.set_offline(receipt.offline);
        }
        _ => {
            appeal.set_receipt_qr(slint::Image::default());
            appeal.set_status_url(SharedString::new());
            appeal.set_receipt_number(SharedString::new());
            appeal.set_seen_now(true);
            appeal.set_offline(false);
        }
    }
}

fn topic(i: i32) -> Option<Topic> {
    usize::try_from(i)
        .ok()
        .and_then(|i| Topic::ALL.get(i).copied())
}

fn digit(s: &str) -> Option<char> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_digit() => Some(c),
        _ => None,
    }
}

/// Wires every adapter callback to `send`, which feeds the event to the journey.
pub fn connect(window: &AppWindow, send: Rc<dyn Fn(Event)>) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };

    let shell = window.global::<ShellAdapter>();
    {
        let send = send.clone();
        shell.on_set_language(move |l| send(Event::SetLanguage(lang(l))));
    }
    shell.on_back(on(Event::Back));
    shell.on_finish(on(Event::EndSession));
    shell.on_still_here(on(Event::StillHere));
    shell.on_touched(on(Event::Touch));

    let attract = window.global::<AttractAdapter>();
    attract.on_start(on(Event::Start));
    attract.on_technician_gesture(on(Event::TechnicianGesture));

    let menu = window.global::<MenuAdapter>();
    menu.on_choose_appeal(on(Event::Choose(Journey::Appeal)));
    menu.on_choose_guide(on(Event::Choose(Journey::Guide)));

    let keypad_digit = |send: Rc<dyn Fn(Event)>| {
        move |d: SharedString| {
            if let Some(c) = digit(&d) {
                send(Event::KeypadDigit(c));
            }
        }
    };

    let identify = window.global::<IdentifyAdapter>();
    identify.on_open_manual(on(Event::ManualOpen));
    identify.on_digit(keypad_digit(send.clone()));
    identify.on_backspace(on(Event::KeypadBackspace));
    identify.on_submit(on(Event::KeypadSubmit));
    identify.on_continue(on(Event::Continue));

    let guide = window.global::<GuideAdapter>();
    {
        let send = send.clone();
        guide.on_select_category(move |i| {
            if let Ok(i) = usize::try_from(i) {
                send(Event::SelectCategory(i));
            }
        });
    }
    guide.on_open_search(on(Event::SearchOpen));
    {
        let send = send.clone();
        let weak = window.as_weak();
        guide.on_search_key(move |key| {
            if let Some(w) = weak.upgrade() {
                let text = w.global::<GuideAdapter>().get_search_text();
                send(Event::SearchText(format!("{text}{key}")));
            }
        });
    }
    {
        let send = send.clone();
        let weak = window.as_weak();
        guide.on_search_backspace(move || {
            if let Some(w) = weak.upgrade() {
                let mut text = w.global::<GuideAdapter>().get_search_text().to_string();
                text.pop();
                send(Event::SearchText(text));
            }
        });
    }
    {
        let send = send.clone();
        guide.on_select(move |i| {
            if let Ok(i) = usize::try_from(i) {
                send(Event::SelectService(i));
            }
        });
    }
    guide.on_next(on(Event::GuideNext));
    guide.on_call_consultant(on(Event::CallConsultant));
    {
        let send = send.clone();
        guide.on_rate(move |mood| {
            let rating = match mood.signum() {
                -1 => Rating::Bad,
                0 => Rating::Neutral,
                _ => Rating::Good,
            };
            send(Event::Rate(rating));
        });
    }

    let appeal = window.global::<AppealAdapter>();
    {
        let send = send.clone();
        appeal.on_select_topic(move |i| {
            if let Some(t) = topic(i) {
                send(Event::SelectTopic(t));
            }
        });
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

    let tech = window.global::<TechnicianAdapter>();
    tech.on_digit(keypad_digit(send.clone()));
    tech.on_backspace(on(Event::KeypadBackspace));
    tech.on_submit(on(Event::KeypadSubmit));
    tech.on_leave(on(Event::TechnicianExit));
    tech.on_recheck(on(Event::TechnicianRecheck));
    tech.on_print_test(on(Event::TechnicianPrintTest));
    {
        let send = send.clone();
        tech.on_open_test(move |i| {
            let test = match i {
                0 => TechTest::Scanner,
                1 => TechTest::Camera,
                _ => TechTest::Printer,
            };
            send(Event::TechnicianOpen(test));
        });
    }
    tech.on_restart(on(Event::Restart));
}

/// For tests: the flow's screens as the UI names them.
pub fn screen_of(flow: &Flow) -> Screen {
    screen(flow.screen())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Catalog {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
        Catalog::load_dir(&dir).expect("shipped catalogue")
    }

    #[test]
    fn every_shipped_drawing_is_drawn_by_slint() {
        let catalog = shipped();
        let view = CatalogView::new(catalog.clone());
        assert!(!catalog.images.is_empty());
        for path in catalog.images.keys() {
            let size = view.image(path).size();
            assert!(size.width > 0 && size.height > 0, "{path} cannot be drawn");
        }
        for (i, service) in catalog.services.iter().enumerate() {
            assert!(view.qr(i).size().width > 0, "{}: no QR code", service.id);
        }
        assert_eq!(view.image("images/not-there.svg").size().width, 0);
    }

    #[test]
    fn portal_link_is_shown_without_the_scheme() {
        assert_eq!(
            portal_shown("https://www.gov.kz/services/3009"),
            "www.gov.kz/services/3009"
        );
        assert_eq!(portal_shown("https://egov.kz/"), "egov.kz");
    }
}
