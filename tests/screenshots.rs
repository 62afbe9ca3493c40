//! Renders every screen of the journey, in all three languages and both orientations, headless
//! with Slint's software renderer, to PNG files under `target/screenshots/`, and checks what
//! each picture says: its translated strings (from the `.po` catalogue of the language shown)
//! and the adapter texts it carries.
//!
//! The flow is driven by real events (not by setting adapter properties by hand), so each picture
//! shows what a citizen sees at that point of the journey.

#[path = "support/headless.rs"]
mod headless;
#[path = "support/journeys.rs"]
mod journeys;
#[path = "support/says.rs"]
mod says;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use slint::{ComponentHandle, PhysicalSize};

use senim_kiosk::catalog::Catalog;
use senim_kiosk::config::Config;
use senim_kiosk::flow::{Event, Flow, Journey, Lang};
use senim_kiosk::ui::{self, CatalogView, KioskInfo, Screen, Theme};

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

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

#[test]
fn every_screen_in_every_language_and_orientation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("config/kiosk.demo.toml")).expect("demo config");
    let catalog = Catalog::load_dir(&root.join("config/services")).expect("catalogue");
    let view = CatalogView::new(catalog.clone());
    let info = KioskInfo {
        site_name: config.kiosk.site_name.clone(),
        kiosk_id: "KGD-HOSP1-03".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        // The default: the call-centre's status page (`Config::status_url_template`).
        status_url: "https://cc.senim.example/s/{number}/{code}".into(),
        tech: technician_view(),
    };

    let (window, app) = headless::window();
    app.show().expect("show");

    let dir = out_dir();
    let mut written = 0;
    let mut seen = BTreeSet::new();
    let mut english = std::collections::HashMap::new();
    for (orientation, size) in [
        ("landscape", PhysicalSize::new(1920, 1080)),
        ("portrait", PhysicalSize::new(1080, 1920)),
    ] {
        window.set_size(size);
        slint::platform::update_timers_and_animations();
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
                let texts = headless::texts(&app);
                for expected in says(shot.name, lang, &catalog, &app) {
                    let (shown, source) = po.expect(&expected);
                    assert!(
                        texts.contains(&shown),
                        "{} in {} ({orientation}) does not say {shown:?}; it says {texts:?}",
                        shot.name,
                        lang.code()
                    );
                    if let Some(source) = source {
                        assert!(
                            !texts.contains(&source),
                            "{} in {} shows the English source {source:?}",
                            shot.name,
                            lang.code()
                        );
                    }
                }
                if shot.name == "appeal-receipt" {
                    // What a phone reads from the screen: the status page, number and code.
                    assert_eq!(
                        scan_qr(&rgba, size),
                        ["https://cc.senim.example/s/K7F-42Q/QR7DKXW2M5TBNZ4H"],
                        "the receipt's QR code in {} ({orientation})",
                        lang.code()
                    );
                }
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
    eprintln!("wrote {written} screenshots to {}", dir.display());
}

/// Nothing of one citizen is visible to the next: after the idle reset every adapter text is empty.
#[test]
fn idle_reset_leaves_nothing_in_the_ui() {
    // Runs in its own thread with its own headless platform.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("config/kiosk.demo.toml")).expect("demo config");
    let catalog = Catalog::load_dir(&root.join("config/services")).expect("catalogue");
    let view = CatalogView::new(catalog.clone());
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
