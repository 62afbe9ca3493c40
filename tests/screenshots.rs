//! Renders every screen of the journey, in all three languages and both orientations, headless
//! with Slint's software renderer, to PNG files under `target/screenshots/`.
//!
//! The flow is driven by real events (not by setting adapter properties by hand), so each picture
//! shows what a citizen sees at that point of the journey.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use slint::platform::software_renderer::{
    MinimalSoftwareWindow, PremultipliedRgbaColor, RepaintBufferType,
};
use slint::{ComponentHandle, PhysicalSize};

use senim_kiosk::catalog::Catalog;
use senim_kiosk::config::Config;
use senim_kiosk::flow::{
    CallCentreStatus, Device, Event, Flow, Health, Journey, Lang, Millis, TechTest,
};
use senim_kiosk::identity;
use senim_kiosk::ui::{self, AppWindow, CatalogView, KioskInfo, Screen, Theme};
use senim_protocol::Topic;

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl slint::platform::Platform for Headless {
    fn create_window_adapter(
        &self,
    ) -> Result<Rc<dyn slint::platform::WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

const VALID_IIN: &str = "880101300010";

/// A journey driven to one screen, with the clock at `now`.
struct Shot {
    name: &'static str,
    flow: Flow,
    now: Millis,
}

struct Driver {
    flow: Flow,
    now: Millis,
}

impl Driver {
    fn new(config: &Config, catalog: &Catalog) -> Driver {
        let mut flow = Flow::new(senim_kiosk::app::flow_config(config, catalog));
        flow.handle(0, Event::DeviceHealth(Device::Scanner, Health::Ok));
        flow.handle(0, Event::DeviceHealth(Device::Camera, Health::Ok));
        flow.handle(0, Event::DeviceHealth(Device::Microphone, Health::Ok));
        flow.handle(
            0,
            Event::Sync {
                online: true,
                pending: 0,
            },
        );
        Driver { flow, now: 1_000 }
    }
    fn send(mut self, event: Event) -> Driver {
        self.now += 100;
        self.flow.handle(self.now, event);
        self
    }
    fn wait(mut self, ms: Millis) -> Driver {
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 250).min(end);
            self.flow.handle(self.now, Event::Tick);
        }
        self
    }
    fn keys(mut self, digits: &str) -> Driver {
        for d in digits.chars() {
            self = self.send(Event::KeypadDigit(d));
        }
        self
    }
    fn shot(self, name: &'static str) -> Shot {
        Shot {
            name,
            flow: self.flow,
            now: self.now,
        }
    }
}

fn closed_until_monday() -> CallCentreStatus {
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid date");
    CallCentreStatus::Closed { next_open: monday }
}

/// A service's position in the shipped catalogue.
fn service(catalog: &Catalog, id: &str) -> usize {
    catalog
        .services
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("no service {id} in the catalogue"))
}

/// A category's position in the shipped catalogue.
fn category(catalog: &Catalog, id: &str) -> usize {
    catalog
        .category_index(id)
        .unwrap_or_else(|| panic!("no category {id} in the catalogue"))
}

fn journeys(config: &Config, catalog: &Catalog) -> Vec<Shot> {
    let d = || Driver::new(config, catalog);
    let scan = |text: &str| Event::Scan(identity::classify(text));
    let appeal = || {
        d().send(scan(VALID_IIN))
            .wait(2_000)
            .send(Event::SelectTopic(Topic::Complaint))
    };
    let recorded = || {
        appeal()
            .send(Event::ConsentAccept)
            .wait(3_000)
            .wait(42_000)
            .send(Event::StopRecording)
    };
    let guide = || d().send(Event::Start).send(Event::Choose(Journey::Guide));
    let eds = || {
        guide()
            .send(Event::SelectCategory(category(catalog, "signature")))
            .send(Event::SelectService(service(catalog, "eds-issue")))
    };
    vec![
        d().shot("attract"),
        d().send(Event::CallCentre(closed_until_monday()))
            .send(Event::Sync {
                online: false,
                pending: 3,
            })
            .shot("attract-closed-offline"),
        d().send(Event::Start).shot("menu"),
        d().send(Event::Start)
            .send(Event::Choose(Journey::Appeal))
            .shot("identify"),
        d().send(scan("880101300011")).shot("identify-invalid"),
        d().send(Event::DeviceHealth(Device::Scanner, Health::Faulty))
            .send(Event::Start)
            .send(Event::Choose(Journey::Appeal))
            .send(Event::ManualOpen)
            .keys("8801013")
            .shot("identify-keypad"),
        d().send(scan(VALID_IIN)).shot("identified"),
        guide().shot("guide-categories"),
        guide()
            .send(Event::SelectCategory(category(catalog, "family")))
            .shot("guide-catalog"),
        guide()
            .send(Event::SearchOpen)
            .send(Event::SearchText("эцп".into()))
            .shot("guide-search-keyboard"),
        guide()
            .send(Event::SearchOpen)
            .send(Event::SearchText("анықтама".into()))
            .send(Event::Back)
            .shot("guide-search"),
        guide()
            .send(Event::SearchOpen)
            .send(Event::SearchText("жжжж".into()))
            .shot("guide-search-nothing"),
        eds().shot("guide-service"),
        guide()
            .send(Event::SelectCategory(category(catalog, "transport")))
            .send(Event::SelectService(service(catalog, "driving-licence")))
            .shot("guide-service-fee"),
        eds()
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .shot("guide-step"),
        // The longest step text of the catalogue.
        eds().send(Event::GuideNext).shot("guide-step-first"),
        eds()
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::CallConsultant)
            .shot("guide-step-consultant"),
        guide()
            .send(Event::SelectCategory(category(catalog, "certificates")))
            .send(Event::SelectService(service(catalog, "no-criminal-record")))
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .send(Event::GuideNext)
            .shot("guide-rating"),
        d().send(scan(VALID_IIN)).wait(2_000).shot("appeal-topic"),
        appeal().shot("appeal-consent"),
        appeal()
            .send(Event::ConsentAccept)
            .wait(900)
            .shot("appeal-countdown"),
        appeal()
            .send(Event::ConsentAccept)
            .wait(3_000)
            .wait(75_000)
            .shot("appeal-recording"),
        recorded().shot("appeal-review"),
        recorded()
            .send(Event::Send)
            .keys("6011234567")
            .send(Event::KeypadSubmit)
            .shot("appeal-phone-invalid"),
        recorded()
            .send(Event::Send)
            .send(Event::SkipPhone)
            .send(Event::AppealSaveFailed)
            .shot("appeal-save-failed"),
        recorded()
            .send(Event::CallCentre(closed_until_monday()))
            .send(Event::Sync {
                online: false,
                pending: 1,
            })
            .send(Event::Send)
            .send(Event::SkipPhone)
            .send(Event::AppealSaved {
                number: "K7F-42Q".into(),
            })
            .shot("appeal-receipt"),
        recorded()
            .send(Event::Sync {
                online: false,
                pending: 1,
            })
            .send(Event::Send)
            .send(Event::SkipPhone)
            .send(Event::AppealSaved {
                number: "K7F-42Q".into(),
            })
            .shot("appeal-receipt-offline"),
        eds()
            .send(Event::GuideNext)
            .wait(65_000)
            .shot("idle-warning"),
        d().send(Event::TechnicianGesture)
            .keys("1111")
            .send(Event::KeypadSubmit)
            .keys("2222")
            .send(Event::KeypadSubmit)
            .keys("3333")
            .send(Event::KeypadSubmit)
            .shot("technician-pin-locked"),
        d().send(Event::TechnicianGesture)
            .keys("4321")
            .send(Event::KeypadSubmit)
            .shot("technician-home"),
        d().send(Event::TechnicianGesture)
            .keys("4321")
            .send(Event::KeypadSubmit)
            .send(Event::TechnicianOpen(TechTest::Scanner))
            .shot("technician-scanner"),
        d().send(Event::TechnicianGesture)
            .keys("4321")
            .send(Event::KeypadSubmit)
            .send(Event::DeviceHealth(Device::Camera, Health::Ok))
            .send(Event::TechnicianOpen(TechTest::Camera))
            .shot("technician-camera"),
        d().send(Event::TechnicianGesture)
            .keys("4321")
            .send(Event::KeypadSubmit)
            .send(Event::DeviceHealth(Device::Printer, Health::Ok))
            .send(Event::TechnicianOpen(TechTest::Printer))
            .shot("technician-printer"),
        d().send(Event::Enrolled(None)).shot("enrol"),
        d().send(Event::Enrolled(None))
            .send(scan("SENIM-ENROL:AB12-CD34-EF56-GH78"))
            .send(Event::EnrolResult(Err("code_used")))
            .shot("enrol-refused"),
        appeal()
            .send(Event::DeviceHealth(Device::Camera, Health::Faulty))
            .send(Event::ConsentAccept)
            .wait(3_000)
            .wait(12_000)
            .shot("appeal-recording-voice"),
        appeal()
            .send(Event::DeviceHealth(Device::Camera, Health::Absent))
            .send(Event::DeviceHealth(Device::Microphone, Health::Absent))
            .shot("appeal-consent-typed"),
        appeal()
            .send(Event::DeviceHealth(Device::Camera, Health::Absent))
            .send(Event::DeviceHealth(Device::Microphone, Health::Absent))
            .send(Event::ConsentAccept)
            .send(Event::AppealText(
                "Қабылдау бөлімінде дәрігер тексеру үшін ақша сұрады, 21 қараша, 10:30".into(),
            ))
            .shot("appeal-text"),
        appeal()
            .send(Event::ConsentAccept)
            .wait(5_000)
            .send(Event::RecordingFailed)
            .shot("appeal-consent-failed"),
        appeal()
            .send(Event::DeviceHealth(Device::Storage, Health::Faulty))
            .send(Event::ConsentAccept)
            .shot("appeal-no-room"),
        eds()
            .send(Event::GuideNext)
            .send(Event::EndSession)
            .shot("attract-after-session"),
    ]
}

/// What technician mode shows in the pictures: checks as `doctor` reports them on a kiosk with
/// a network problem, a queue, a test scan and a printed test slip.
fn technician_view() -> ui::TechView {
    use senim_kiosk::doctor::{Check, Level};
    let check = |check, level, detail: &str, hint: Option<&str>| Check {
        check,
        level,
        detail: detail.into(),
        hint: hint.map(Into::into),
    };
    ui::TechView {
        checks: vec![
            check("config", Level::Ok, "/etc/senim/kiosk.toml is valid", None),
            check(
                "catalogue",
                Level::Ok,
                "13 services in /var/lib/senim/catalog",
                None,
            ),
            check(
                "store",
                Level::Ok,
                "/var/lib/senim (schema 2, integrity ok)",
                None,
            ),
            check(
                "disk",
                Level::Warn,
                "700 MiB free (recordings need 256 MiB)",
                Some("the data disk is nearly full"),
            ),
            check(
                "enrolment",
                Level::Ok,
                "kiosk KGD-HOSP1-03 at \"Karaganda Regional Hospital\"",
                None,
            ),
            check(
                "sync",
                Level::Ok,
                "3 item(s) waiting, 12.4 MB of video",
                None,
            ),
            check(
                "network",
                Level::Fail,
                "cannot connect to https://cc.example.kz: connection refused",
                Some("check the cable or Wi-Fi, the kiosk's address and any firewall"),
            ),
            check("scanner", Level::Ok, "/dev/senim-scanner: working", None),
            check(
                "versions",
                Level::Ok,
                "senim-kiosk 0.1.0, store schema 2",
                None,
            ),
        ],
        sync_bytes: 12_400_000,
        sync_last_error: Some("cannot reach the call-centre at https://cc.example.kz/".into()),
        microphone: Health::Ok,
        scan: Some(ui::TestScan {
            kind: "badge".into(),
            valid: true,
            symbology: "]Q1".into(),
            text: "SENIM-TECH:tech_01-AB".into(),
            hex: "5D 51 31 53 45 4E 49 4D 2D 54 45 43 48 3A 74 65 63 68 5F 30 31 2D 41 42".into(),
        }),
        printer: Some(Ok(())),
        ..ui::TechView::default()
    }
}

fn render(window: &MinimalSoftwareWindow, size: PhysicalSize) -> Vec<u8> {
    let (w, h) = (size.width as usize, size.height as usize);
    let mut buffer = vec![PremultipliedRgbaColor::default(); w * h];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, w);
    });
    buffer
        .iter()
        .flat_map(|p| [p.red, p.green, p.blue, 255])
        .collect()
}

fn write_png(path: &Path, size: PhysicalSize, rgba: &[u8]) {
    let file = std::fs::File::create(path).expect("create screenshot file");
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size.width, size.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(rgba).expect("png data");
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
        status_url: "https://senim.example/a/{number}".into(),
        tech: technician_view(),
    };

    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
    }))
    .expect("set the headless platform once");
    let app = AppWindow::new().expect("create the kiosk window");
    app.show().expect("show");

    let shots = journeys(&config, &catalog);
    let dir = out_dir();
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
            for shot in &shots {
                // The flow's language is what the citizen chose; mirror it for each picture.
                let mut flow = shot.flow.clone();
                flow.handle(shot.now, Event::SetLanguage(lang));
                ui::apply(&app, &flow, &view, &info, shot.now);
                slint::platform::update_timers_and_animations();
                let rgba = render(&window, size);
                seen.insert(format!("{:?}", ui::screen_of(&flow)));
                let distinct: BTreeSet<&[u8]> = rgba.chunks(4).step_by(97).collect();
                assert!(distinct.len() > 3, "{} looks blank", shot.name);
                let file = dir.join(format!("{}-{}-{}.png", shot.name, lang.code(), orientation));
                write_png(&file, size, &rgba);
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
    ];
    for s in all {
        assert!(seen.contains(&format!("{s:?}")), "no screenshot of {s:?}");
    }
    eprintln!("wrote {} screenshots to {}", shots.len() * 6, dir.display());
}

/// Nothing of one citizen is visible to the next: after the idle reset every adapter text is empty.
#[test]
fn idle_reset_leaves_nothing_in_the_ui() {
    // Runs in its own thread with its own headless platform.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("config/kiosk.demo.toml")).expect("demo config");
    let catalog = Catalog::load_dir(&root.join("config/services")).expect("catalogue");
    let view = CatalogView::new(catalog.clone());
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
    }))
    .expect("platform");
    let app = AppWindow::new().expect("window");
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
