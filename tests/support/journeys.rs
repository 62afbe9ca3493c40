//! The journeys the screenshot test pictures: a flow driven by real events to every screen in a
//! language, and what technician mode shows beside the flow.

use senim_kiosk::catalog::Catalog;
use senim_kiosk::config::Config;
use senim_kiosk::flow::{
    CallCentreStatus, CallEnd, Device, Event, Flow, Health, Journey, Lang, Millis, TechTest,
};
use senim_kiosk::identity;
use senim_kiosk::ui;
use senim_protocol::Topic;

pub const VALID_IIN: &str = "880101300010";
/// The operator's display name in the call pictures.
pub const OPERATOR: &str = "Aigerim Sarsenova";

/// The demo configuration, the shipped catalogue and its view: what the UI tests draw.
pub struct Demo {
    pub config: Config,
    pub catalog: Catalog,
    pub view: ui::CatalogView,
}

pub fn demo() -> Demo {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("config/kiosk.demo.toml")).expect("demo config");
    let catalog = Catalog::load_dir(&root.join("config/services")).expect("catalogue");
    let view = ui::CatalogView::new(catalog.clone());
    Demo {
        config,
        catalog,
        view,
    }
}

/// What the screens say of the kiosk: the demo's site, an id, this version, and the
/// call-centre's status page (the default, `Config::status_url_template`).
pub fn kiosk_info(config: &Config) -> ui::KioskInfo {
    ui::KioskInfo {
        site_name: config.kiosk.site_name.clone(),
        kiosk_id: "KGD-HOSP1-03".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        status_url: "https://cc.senim.example/s/{number}/{code}".into(),
        tech: technician_view(),
    }
}

/// A journey driven to one screen, with the clock at `now`.
pub struct Shot {
    pub name: &'static str,
    pub flow: Flow,
    pub now: Millis,
}

struct Driver {
    flow: Flow,
    now: Millis,
}

impl Driver {
    fn new(config: &Config, catalog: &Catalog, lang: Lang) -> Driver {
        let mut flow = Flow::new(senim_kiosk::app::flow_config(config, catalog));
        // The citizen's language, chosen first: a later choice would count as a touch and
        // take the idle warning away.
        flow.handle(0, Event::SetLanguage(lang));
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
    /// Types a technician PIN and submits it, answering the flow's `CheckPin` as the app does
    /// with the demo configuration's PIN (4321).
    fn pin(self, digits: &str) -> Driver {
        self.keys(digits)
            .send(Event::KeypadSubmit)
            .send(Event::PinChecked {
                ok: digits == "4321",
            })
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
pub fn service(catalog: &Catalog, id: &str) -> usize {
    catalog
        .services
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("no service {id} in the catalogue"))
}

/// A category's position in the shipped catalogue.
pub fn category(catalog: &Catalog, id: &str) -> usize {
    catalog
        .category_index(id)
        .unwrap_or_else(|| panic!("no category {id} in the catalogue"))
}

pub fn journeys(config: &Config, catalog: &Catalog, lang: Lang) -> Vec<Shot> {
    let d = || Driver::new(config, catalog, lang);
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
    // An operator free to take a call, the consent page showing.
    let available = || appeal().send(Event::OperatorsAvailable(true));
    let ringing = || {
        available().send(Event::CallNow).send(Event::CallRinging {
            call_id: "c-7f3a".into(),
        })
    };
    let in_call = || {
        ringing()
            .wait(9_000)
            .send(Event::CallAnswered {
                operator: OPERATOR.into(),
            })
            .wait(83_000)
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
                check_code: senim_kiosk::flow::CheckCode("QR7DKXW2M5TBNZ4H".into()),
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
                check_code: senim_kiosk::flow::CheckCode("QR7DKXW2M5TBNZ4H".into()),
            })
            .shot("appeal-receipt-offline"),
        eds()
            .send(Event::GuideNext)
            .wait(65_000)
            .shot("idle-warning"),
        d().send(Event::TechnicianGesture)
            .pin("1111")
            .pin("2222")
            .pin("3333")
            .shot("technician-pin-locked"),
        d().send(Event::TechnicianGesture)
            .pin("4321")
            .shot("technician-home"),
        d().send(Event::TechnicianGesture)
            .pin("4321")
            .send(Event::TechnicianOpen(TechTest::Scanner))
            .shot("technician-scanner"),
        d().send(Event::TechnicianGesture)
            .pin("4321")
            .send(Event::DeviceHealth(Device::Camera, Health::Ok))
            .send(Event::TechnicianOpen(TechTest::Camera))
            .shot("technician-camera"),
        d().send(Event::TechnicianGesture)
            .pin("4321")
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
        available().shot("appeal-consent-call"),
        available()
            .send(Event::CallCentre(closed_until_monday()))
            .shot("appeal-consent-closed"),
        available()
            .send(Event::Sync {
                online: false,
                pending: 0,
            })
            .shot("appeal-consent-offline"),
        ringing().wait(17_000).shot("call-ringing"),
        in_call().shot("in-call-connecting"),
        in_call().send(Event::CallVolume(60)).shot("in-call"),
        ringing().wait(65_000).shot("call-ended-unanswered"),
        ringing()
            .send(Event::CallEnded(CallEnd::Unavailable))
            .shot("call-ended-unavailable"),
        ringing()
            .send(Event::CallEnded(CallEnd::Failed))
            .shot("call-ended-failed"),
        in_call()
            .send(Event::CallEnded(CallEnd::Lost))
            .shot("call-ended-lost-saving"),
        in_call()
            .send(Event::CallEnded(CallEnd::Lost))
            .send(Event::AppealSaved {
                number: "C9-014".into(),
                check_code: senim_kiosk::flow::CheckCode("QR7DKXW2M5TBNZ4H".into()),
            })
            .shot("call-ended-lost"),
    ]
}

/// What technician mode shows in the pictures: checks as `doctor` reports them on a kiosk with
/// a network problem, a queue, a test scan and a printed test slip.
pub fn technician_view() -> ui::TechView {
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
        sync_parked: 2,
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
