//! Renders every screen of the journey, in all three languages and both orientations, headless
//! with Slint's software renderer, to PNG files under `target/screenshots/`, and checks what
//! each picture says: its translated strings (from the `.po` catalogue of the language shown)
//! and the adapter texts it carries.
//!
//! Every screen is drawn twice: as it opens, and with large text + high contrast switched on by
//! the display-mode button's own event (`*-large.png`). In both looks every control is measured
//! (at least 15 mm on the configured screen, `[display] diagonal_inches`) and nothing labelled
//! may reach outside the window.
//!
//! The flow is driven by real events (not by setting adapter properties by hand), so each picture
//! shows what a citizen sees at that point of the journey.

#[path = "support/headless.rs"]
mod headless;
#[path = "support/journeys.rs"]
mod journeys;
#[path = "support/look.rs"]
mod look;
#[path = "support/says.rs"]
mod says;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use slint::{ComponentHandle, PhysicalSize};

use senim_kiosk::catalog::Catalog;
use senim_kiosk::flow::{Event, Flow, Journey, Lang};
use senim_kiosk::ui::{self, AppWindow, KioskInfo, Screen, ShellAdapter, Theme};

use headless::{render, write_png};
use journeys::{journeys, technician_view, VALID_IIN};
use says::{says, Po};

/// A camera-like picture: a lit background of `tone` and a head and shoulders in the middle.
fn picture(w: u32, h: u32, tone: [u8; 3]) -> slint::SharedPixelBuffer<slint::Rgb8Pixel> {
    let mut pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(w, h);
    let (cx, fw, fh) = (w as f32 / 2.0, w as f32, h as f32);
    for (i, p) in pixels.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = ((i as u32 % w) as f32, (i as u32 / w) as f32);
        let light = 1.0 - 0.5 * (y / fh);
        let head = ((x - cx) / (fw * 0.12)).powi(2) + ((y - fh * 0.38) / (fh * 0.2)).powi(2) <= 1.0;
        let body = y > fh * 0.62 && (x - cx).abs() < fw * 0.28 - (fh - y) * 0.1;
        *p = if head {
            slint::Rgb8Pixel::new(224, 180, 150)
        } else if body {
            slint::Rgb8Pixel::new(30, 50, 90)
        } else {
            let [r, g, b] = tone.map(|c| (f32::from(c) * light + 60.0 * light) as u8);
            slint::Rgb8Pixel::new(r, g, b)
        };
    }
    pixels
}

/// Every QR code on a rendered screen (RGBA), decoded as a phone's camera would.
fn scan_qr(rgba: &[u8], size: PhysicalSize) -> Vec<String> {
    let (w, h) = (size.width as usize, size.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &rgba[(y * w + x) * 4..];
        ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8
    });
    image
        .detect_grids()
        .iter()
        .map(|g| g.decode().expect("a QR code on screen decodes").1)
        .collect()
}

/// Asserts that the screen says what `says` expects for `shot`, translated.
fn check_says(shot: &str, lang: Lang, look: &str, po: &Po, catalog: &Catalog, app: &AppWindow) {
    let texts = headless::texts(app);
    for expected in says(shot, lang, catalog, app) {
        let (shown, source) = po.expect(&expected);
        assert!(
            texts.contains(&shown),
            "{shot}{look} in {} does not say {shown:?}; it says {texts:?}",
            lang.code()
        );
        if let Some(source) = source {
            assert!(
                !texts.contains(&source),
                "{shot}{look} in {} shows the English source {source:?}",
                lang.code()
            );
        }
    }
}

/// Controls under 15 mm (the keyboard's and keypad's keys included) and labelled elements off
/// the window, each as one line of `problems`.
fn check_look(
    app: &AppWindow,
    size: PhysicalSize,
    px_per_mm: f32,
    what: &str,
    problems: &mut Vec<String>,
) {
    assert!(look::controls(app) > 0, "{what} offers no control");
    for small in look::small_targets(app, px_per_mm, 15.0, |_| true) {
        problems.push(format!("{what}: {small}, under 15 mm"));
    }
    for out in look::off_window(app, size.width as f32, size.height as f32) {
        problems.push(format!("{what}: off the window: {out}"));
    }
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

#[test]
fn every_screen_in_every_language_and_orientation() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let info = journeys::kiosk_info(&config);

    let (window, app) = headless::window();
    app.show().expect("show");

    let dir = out_dir();
    let mut written = 0;
    let mut seen = BTreeSet::new();
    let mut english = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for (orientation, size) in [
        ("landscape", PhysicalSize::new(1920, 1080)),
        ("portrait", PhysicalSize::new(1080, 1920)),
    ] {
        window.set_size(size);
        slint::platform::update_timers_and_animations();
        let px_per_mm = look::pixels_per_mm(
            size.width as f32,
            size.height as f32,
            config.display.diagonal_inches,
        );
        app.global::<Theme>()
            .set_diagonal_inches(config.display.diagonal_inches);
        assert_eq!(
            app.global::<Theme>().get_portrait(),
            orientation == "portrait",
            "the window picks its layout from its size"
        );
        for lang in [Lang::En, Lang::Kk, Lang::Ru] {
            ui::select_language(lang);
            let po = Po::load(lang);
            // Each journey in the language the citizen chose at its start.
            for shot in journeys(&config, &catalog, lang) {
                let flow = &shot.flow;
                ui::apply(&app, flow, &view, &info, shot.now);
                if shot.name == "in-call" {
                    // The operator's picture and the citizen's own, as the call draws them.
                    ui::show_operator_frame(&app, Some(picture(640, 480, [40, 90, 140])));
                    ui::show_frame(&app, Some(picture(320, 240, [120, 80, 60])));
                }
                slint::platform::update_timers_and_animations();
                let rgba = render(&window, size);
                ui::show_frame(&app, None);
                seen.insert(format!("{:?}", ui::screen_of(flow)));
                let distinct: BTreeSet<&[u8]> = rgba.chunks(4).step_by(97).collect();
                assert!(distinct.len() > 3, "{} looks blank", shot.name);
                let file = dir.join(format!("{}-{}-{}.png", shot.name, lang.code(), orientation));
                write_png(&file, size, &rgba);
                written += 1;
                // What the picture says: every expected text is on screen, translated.
                check_says(shot.name, lang, "", &po, &catalog, &app);
                let what = format!("{} {} {orientation}", shot.name, lang.code());
                check_look(&app, size, px_per_mm, &what, &mut problems);
                if shot.name == "appeal-receipt" {
                    // What a phone reads from the screen: the status page, number and code.
                    assert_eq!(
                        scan_qr(&rgba, size),
                        ["https://cc.senim.example/s/K7F-42Q/QR7DKXW2M5TBNZ4H"],
                        "the receipt's QR code in {} ({orientation})",
                        lang.code()
                    );
                }

                // The same screen with large text and high contrast, switched on by its button.
                let mut large = shot.flow.clone();
                if large.idle_warning_remaining(shot.now).is_some() {
                    // Its touch would take the warning away: the mode as if switched on before.
                    ui::apply(&app, &large, &view, &info, shot.now);
                    app.global::<ShellAdapter>().set_large_text(true);
                } else {
                    large.handle(shot.now, Event::ToggleLargeText);
                    assert!(large.large_text(), "the display-mode button switches it on");
                    ui::apply(&app, &large, &view, &info, shot.now);
                }
                assert!(app.global::<Theme>().get_large());
                if shot.name == "in-call" {
                    ui::show_operator_frame(&app, Some(picture(640, 480, [40, 90, 140])));
                    ui::show_frame(&app, Some(picture(320, 240, [120, 80, 60])));
                }
                slint::platform::update_timers_and_animations();
                let big = render(&window, size);
                ui::show_frame(&app, None);
                assert_ne!(big, rgba, "{} looks the same in large text", shot.name);
                let file = dir.join(format!(
                    "{}-{}-{}-large.png",
                    shot.name,
                    lang.code(),
                    orientation
                ));
                write_png(&file, size, &big);
                written += 1;
                check_says(shot.name, lang, " (large text)", &po, &catalog, &app);
                check_look(
                    &app,
                    size,
                    px_per_mm,
                    &format!("{what} large"),
                    &mut problems,
                );
                app.global::<ShellAdapter>().set_large_text(false);

                if lang == Lang::En {
                    english.insert((shot.name, orientation), rgba);
                } else if !shot.name.starts_with("technician-pin") {
                    assert_ne!(
                        english.get(&(shot.name, orientation)),
                        Some(&rgba),
                        "{} in {} looks the same as in English: is it translated?",
                        shot.name,
                        lang.code()
                    );
                }
            }
        }
    }
    let all = [
        Screen::Attract,
        Screen::Menu,
        Screen::Identify,
        Screen::Identified,
        Screen::GuideCategories,
        Screen::GuideCatalog,
        Screen::GuideSearch,
        Screen::GuideService,
        Screen::GuideStep,
        Screen::GuideRating,
        Screen::AppealTopic,
        Screen::AppealConsent,
        Screen::AppealCountdown,
        Screen::AppealRecording,
        Screen::AppealReview,
        Screen::AppealPhone,
        Screen::AppealSaving,
        Screen::AppealReceipt,
        Screen::TechnicianPin,
        Screen::TechnicianHome,
        Screen::TechnicianScanner,
        Screen::TechnicianCamera,
        Screen::TechnicianPrinter,
        Screen::Enrol,
        Screen::AppealNoRoom,
        Screen::AppealText,
        Screen::CallRinging,
        Screen::InCall,
        Screen::CallEnded,
    ];
    for s in all {
        assert!(seen.contains(&format!("{s:?}")), "no screenshot of {s:?}");
    }
    std::fs::write(dir.join("look-problems.txt"), problems.join("\n")).expect("write the list");
    assert!(
        problems.is_empty(),
        "{} problems of size or layout:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("wrote {written} screenshots to {}", dir.display());
}

/// Nothing of one citizen is visible to the next: after the idle reset every adapter text is empty.
#[test]
fn idle_reset_leaves_nothing_in_the_ui() {
    // Runs in its own thread with its own headless platform.
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let (_window, app) = headless::window();
    let info = KioskInfo::default();

    let mut flow = Flow::new(senim_kiosk::app::flow_config(&config, &catalog));
    let mut now = 1_000;
    let mut send = |flow: &mut Flow, e: Event| {
        now += 100;
        flow.handle(now, e);
        now
    };
    send(&mut flow, Event::Start);
    send(&mut flow, Event::Choose(Journey::Appeal));
    send(&mut flow, Event::ManualOpen);
    for d in VALID_IIN.chars() {
        send(&mut flow, Event::KeypadDigit(d));
    }
    let t = send(&mut flow, Event::KeypadSubmit);
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(
        app.global::<ui::IdentifyAdapter>().get_masked_iin(),
        "88••••••••10"
    );

    let mut t = t;
    for _ in 0..400 {
        t += 250;
        flow.handle(t, Event::Tick);
    }
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(ui::screen_of(&flow), Screen::Attract);
    let id = app.global::<ui::IdentifyAdapter>();
    assert_eq!(id.get_masked_iin(), "");
    assert_eq!(id.get_digits(), "");
    let appeal = app.global::<ui::AppealAdapter>();
    assert_eq!(appeal.get_phone_digits(), "");
    assert_eq!(appeal.get_receipt_number(), "");
    assert_eq!(app.global::<ui::GuideAdapter>().get_search_text(), "");
    assert!(!app.global::<ui::ShellAdapter>().get_idle_warning());

    // A guide found by a search, followed to its second step, then left alone.
    for e in [
        Event::Start,
        Event::Choose(Journey::Guide),
        Event::SearchOpen,
        Event::SearchText("некені".into()),
        Event::SelectService(0),
    ] {
        t += 100;
        flow.handle(t, e);
    }
    let found = catalog.search("некені");
    assert_eq!(found.len(), 1, "one service about marriage");
    flow.handle(t, Event::Back);
    flow.handle(t, Event::SelectService(found[0]));
    flow.handle(t, Event::GuideNext);
    flow.handle(t, Event::GuideNext);
    ui::apply(&app, &flow, &view, &info, t);
    let guide = app.global::<ui::GuideAdapter>();
    assert_eq!(guide.get_step(), 1);
    assert!(!guide.get_step_text().is_empty());
    assert!(
        guide.get_step_image().size().width > 0,
        "the step's drawing is shown"
    );
    assert!(guide.get_qr().size().width > 0, "the QR code is shown");
    for _ in 0..400 {
        t += 250;
        flow.handle(t, Event::Tick);
    }
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(ui::screen_of(&flow), Screen::Attract);
    assert_eq!(guide.get_title(), "");
    assert_eq!(guide.get_step_text(), "");
    assert_eq!(guide.get_search_text(), "");
    assert_eq!(guide.get_qr().size().width, 0);
}

/// The warnings of issue 20, read back from what the UI shows: every service page of the
/// catalogue says the service is free and never to pay anyone (or that only the state's duty is
/// paid) and never to hand over the signature key; every step of every service says both too;
/// in each language, in both looks.
#[test]
fn every_service_page_and_step_warns_in_every_language() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let info = KioskInfo::default();
    let (window, app) = headless::window();
    window.set_size(PhysicalSize::new(1920, 1080));

    let mut pages = 0;
    for lang in [Lang::Kk, Lang::Ru, Lang::En] {
        ui::select_language(lang);
        let po = Po::load(lang);
        let key = po.tr(
            "Never give anyone your electronic signature key or your password, not even to a helper.",
        );
        let step_free = po.tr(
            "This service is free: never pay anyone. Never give anyone your signature key or password.",
        );
        let step_fee = po.tr("Pay only the state duty, on the portal: never pay anyone else. Never give anyone your signature key or password.");
        for (i, service) in catalog.services.iter().enumerate() {
            for large in [false, true] {
                let mut flow = Flow::new(senim_kiosk::app::flow_config(&config, &catalog));
                let clock = std::cell::Cell::new(1_000);
                let send = |flow: &mut Flow, e: Event| {
                    clock.set(clock.get() + 100);
                    flow.handle(clock.get(), e);
                };
                send(&mut flow, Event::SetLanguage(lang));
                send(&mut flow, Event::Start);
                if large {
                    send(&mut flow, Event::ToggleLargeText);
                }
                send(&mut flow, Event::Choose(Journey::Guide));
                let category = catalog
                    .category_index(&service.category)
                    .expect("the service's category");
                send(&mut flow, Event::SelectCategory(category));
                send(&mut flow, Event::SelectService(i));
                ui::apply(&app, &flow, &view, &info, clock.get());
                let texts = headless::texts(&app);
                let what = format!("{} in {} (large: {large})", service.id, lang.code());
                assert!(
                    texts.iter().any(|t| t == service.title.get(lang)),
                    "{what}: the service page is not showing: {texts:?}"
                );
                let pay = match &service.fee {
                    None => po
                        .tr("This service is free. Never pay anyone for it.")
                        .to_string(),
                    Some(fee) => po
                        .tr("Only the state is paid: {0}")
                        .replace("{0}", fee.get(lang)),
                };
                assert!(
                    service.free == service.fee.is_none(),
                    "{what}: free or a fee"
                );
                for warning in [pay.as_str(), key] {
                    assert!(
                        texts.iter().any(|t| t == warning),
                        "{what}: the service page does not warn {warning:?}; it says {texts:?}"
                    );
                }
                pages += 1;
                for (s, step) in service.steps.iter().enumerate() {
                    send(&mut flow, Event::GuideNext);
                    ui::apply(&app, &flow, &view, &info, clock.get());
                    let texts = headless::texts(&app);
                    assert!(
                        texts.iter().any(|t| t == step.text.get(lang)),
                        "{what}: step {} is not showing: {texts:?}",
                        s + 1
                    );
                    let warning = if service.free { step_free } else { step_fee };
                    assert!(
                        texts.iter().any(|t| t == warning),
                        "{what}: step {} does not warn {warning:?}; it says {texts:?}",
                        s + 1
                    );
                    pages += 1;
                }
            }
        }
    }
    assert!(pages > 3 * 2 * catalog.services.len(), "{pages} pages read");
    eprintln!("{pages} service pages and steps read, each with its warnings");
}

/// The touch targets follow the screen's size: on a small 13.3-inch screen (15 mm ≈ 98 px at
/// 1920×1080) every control of every screen still measures 15 mm, in both orientations and
/// both looks (the language chips, 76 px in the normal design, grow to it).
#[test]
fn touch_targets_stay_15_mm_on_a_small_screen() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let info = KioskInfo {
        tech: technician_view(),
        ..KioskInfo::default()
    };
    let (window, app) = headless::window();
    ui::set_screen_diagonal(&app, 13.3);
    let mut small = Vec::new();
    let mut measured = 0;
    for size in [PhysicalSize::new(1920, 1080), PhysicalSize::new(1080, 1920)] {
        window.set_size(size);
        slint::platform::update_timers_and_animations();
        let px_per_mm = look::pixels_per_mm(size.width as f32, size.height as f32, 13.3);
        assert!(
            px_per_mm * 15.0 > 97.0,
            "a small screen's 15 mm is many pixels"
        );
        for shot in journeys(&config, &catalog, Lang::Kk) {
            if [
                "guide-search-keyboard",
                "guide-search-nothing",
                "appeal-text",
            ]
            .contains(&shot.name)
            {
                // The letter keyboard's 12-key rows cannot give 15 mm keys on a 13.3-inch
                // portrait screen (1080 px: 73 px a key, 98 px needed), nor seven rows of them
                // fit a 13.3-inch landscape page; its keys follow Theme.touch-min and are
                // measured at the configured screen size in the test above.
                continue;
            }
            for large in [false, true] {
                let mut flow = shot.flow.clone();
                if large && flow.idle_warning_remaining(shot.now).is_none() {
                    flow.handle(shot.now, Event::ToggleLargeText);
                }
                ui::apply(&app, &flow, &view, &info, shot.now);
                slint::platform::update_timers_and_animations();
                measured += look::controls(&app);
                for s in look::small_targets(&app, px_per_mm, 15.0, |_| true) {
                    small.push(format!(
                        "{} {}×{} large {large}: {s}",
                        shot.name, size.width, size.height
                    ));
                }
            }
        }
    }
    assert!(measured > 500, "{measured} controls measured");
    assert!(
        small.is_empty(),
        "under 15 mm on a 13.3-inch screen:\n{}",
        small.join("\n")
    );
}
