//! Every adapter callback, invoked in-process on the real `AppWindow` (headless) wired with the
//! real `ui::connect`, sends exactly the `flow::Event` the journey expects — and nothing for
//! input the journey must not see (a keypad key that is not one digit, a negative index).
//!
//! Over 600 lines: one list of every adapter's callbacks, each with the event it must send.

#[path = "support/headless.rs"]
#[allow(dead_code)]
mod headless;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use senim_kiosk::flow::{Event, Journey, Lang, Rating as FlowRating, TechTest as FlowTest};
use senim_kiosk::ui::{
    self, AppWindow, AppealAdapter, AppealTopic, AttractAdapter, CallAdapter, CameraAdapter,
    GuideAdapter, IdentifyAdapter, Language, MenuAdapter, Rating, ShellAdapter, TechTest,
    TechnicianAdapter,
};
use senim_protocol::Topic;

/// The window wired to a sink that keeps what the callbacks send.
struct Wired {
    app: AppWindow,
    events: Rc<RefCell<Vec<Event>>>,
    /// (global, callback) pairs invoked so far.
    invoked: RefCell<BTreeSet<(&'static str, &'static str)>>,
}

impl Wired {
    fn new() -> Wired {
        let (_window, app) = headless::window();
        let events = Rc::new(RefCell::new(Vec::new()));
        let sink = events.clone();
        ui::connect(&app, Rc::new(move |e| sink.borrow_mut().push(e)));
        Wired {
            app,
            events,
            invoked: RefCell::default(),
        }
    }

    /// Invokes `global.callback` through `invoke` and returns what it sent.
    fn sent(
        &self,
        global: &'static str,
        callback: &'static str,
        invoke: impl FnOnce(&AppWindow),
    ) -> Vec<Event> {
        self.invoked.borrow_mut().insert((global, callback));
        self.events.borrow_mut().clear();
        invoke(&self.app);
        self.events.borrow_mut().drain(..).collect()
    }

    /// Asserts that invoking `global.callback` sends exactly `expected`.
    fn expect(
        &self,
        global: &'static str,
        callback: &'static str,
        invoke: impl FnOnce(&AppWindow),
        expected: Event,
    ) {
        assert_eq!(
            self.sent(global, callback, invoke),
            vec![expected],
            "{global}.{callback}"
        );
    }

    /// Asserts that invoking `global.callback` sends nothing.
    fn expect_nothing(
        &self,
        global: &'static str,
        callback: &'static str,
        invoke: impl FnOnce(&AppWindow),
    ) {
        assert_eq!(
            self.sent(global, callback, invoke),
            vec![],
            "{global}.{callback}"
        );
    }
}

/// (global, callback) of every callback declared in `ui/adapters.slint`, in Rust spelling.
fn declared_callbacks() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/adapters.slint");
    let text = std::fs::read_to_string(&path).expect("read ui/adapters.slint");
    let mut global = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("export global ") {
            global = rest.trim_end_matches('{').trim().to_string();
        } else if let Some(rest) = line.strip_prefix("callback ") {
            let name = rest.split(['(', ';']).next().unwrap_or_default();
            out.insert((global.clone(), name.trim().replace('-', "_")));
        }
    }
    out
}

fn s(text: &str) -> SharedString {
    text.into()
}

#[test]
fn every_adapter_callback_sends_its_event() {
    let w = Wired::new();

    // The shell: language chips, top bar, idle warning, any touch.
    for (language, lang) in [
        (Language::Kk, Lang::Kk),
        (Language::Ru, Lang::Ru),
        (Language::En, Lang::En),
    ] {
        w.expect(
            "ShellAdapter",
            "set_language",
            |a| a.global::<ShellAdapter>().invoke_set_language(language),
            Event::SetLanguage(lang),
        );
    }
    w.expect(
        "ShellAdapter",
        "back",
        |a| a.global::<ShellAdapter>().invoke_back(),
        Event::Back,
    );
    w.expect(
        "ShellAdapter",
        "finish",
        |a| a.global::<ShellAdapter>().invoke_finish(),
        Event::EndSession,
    );
    w.expect(
        "ShellAdapter",
        "still_here",
        |a| a.global::<ShellAdapter>().invoke_still_here(),
        Event::StillHere,
    );
    w.expect(
        "ShellAdapter",
        "touched",
        |a| a.global::<ShellAdapter>().invoke_touched(),
        Event::Touch,
    );
    // Spoken guidance (issue 20: speech).
    w.expect(
        "ShellAdapter",
        "listen",
        |a| a.global::<ShellAdapter>().invoke_listen(),
        Event::Listen,
    );
    w.expect(
        "ShellAdapter",
        "quieter",
        |a| a.global::<ShellAdapter>().invoke_quieter(),
        Event::Quieter,
    );
    w.expect(
        "ShellAdapter",
        "louder",
        |a| a.global::<ShellAdapter>().invoke_louder(),
        Event::Louder,
    );
    w.expect(
        "ShellAdapter",
        "toggle_large_text",
        |a| a.global::<ShellAdapter>().invoke_toggle_large_text(),
        Event::ToggleLargeText,
    );

    // The attract screen and the menu.
    w.expect(
        "AttractAdapter",
        "start",
        |a| a.global::<AttractAdapter>().invoke_start(),
        Event::Start,
    );
    w.expect(
        "AttractAdapter",
        "technician_gesture",
        |a| a.global::<AttractAdapter>().invoke_technician_gesture(),
        Event::TechnicianGesture,
    );
    w.expect(
        "MenuAdapter",
        "choose_appeal",
        |a| a.global::<MenuAdapter>().invoke_choose_appeal(),
        Event::Choose(Journey::Appeal),
    );
    w.expect(
        "MenuAdapter",
        "choose_guide",
        |a| a.global::<MenuAdapter>().invoke_choose_guide(),
        Event::Choose(Journey::Guide),
    );

    // Identify: the keypad takes one ASCII digit at a time.
    w.expect(
        "IdentifyAdapter",
        "open_manual",
        |a| a.global::<IdentifyAdapter>().invoke_open_manual(),
        Event::ManualOpen,
    );
    w.expect(
        "IdentifyAdapter",
        "digit",
        |a| a.global::<IdentifyAdapter>().invoke_digit(s("7")),
        Event::KeypadDigit('7'),
    );
    for not_a_digit in ["", "x", "12", "٣"] {
        w.expect_nothing("IdentifyAdapter", "digit", |a| {
            a.global::<IdentifyAdapter>().invoke_digit(s(not_a_digit))
        });
    }
    w.expect(
        "IdentifyAdapter",
        "backspace",
        |a| a.global::<IdentifyAdapter>().invoke_backspace(),
        Event::KeypadBackspace,
    );
    w.expect(
        "IdentifyAdapter",
        "submit",
        |a| a.global::<IdentifyAdapter>().invoke_submit(),
        Event::KeypadSubmit,
    );
    w.expect(
        "IdentifyAdapter",
        "continue",
        |a| a.global::<IdentifyAdapter>().invoke_continue(),
        Event::Continue,
    );

    // Guides: indexes, the search text edited from what is shown, the rating.
    w.expect(
        "GuideAdapter",
        "select_category",
        |a| a.global::<GuideAdapter>().invoke_select_category(2),
        Event::SelectCategory(2),
    );
    w.expect_nothing("GuideAdapter", "select_category", |a| {
        a.global::<GuideAdapter>().invoke_select_category(-1)
    });
    w.expect(
        "GuideAdapter",
        "open_search",
        |a| a.global::<GuideAdapter>().invoke_open_search(),
        Event::SearchOpen,
    );
    w.app.global::<GuideAdapter>().set_search_text(s("эц"));
    w.expect(
        "GuideAdapter",
        "search_key",
        |a| a.global::<GuideAdapter>().invoke_search_key(s("п")),
        Event::SearchText("эцп".into()),
    );
    w.expect(
        "GuideAdapter",
        "search_backspace",
        |a| a.global::<GuideAdapter>().invoke_search_backspace(),
        Event::SearchText("э".into()),
    );
    w.expect(
        "GuideAdapter",
        "select",
        |a| a.global::<GuideAdapter>().invoke_select(4),
        Event::SelectService(4),
    );
    w.expect_nothing("GuideAdapter", "select", |a| {
        a.global::<GuideAdapter>().invoke_select(-3)
    });
    w.expect(
        "GuideAdapter",
        "next",
        |a| a.global::<GuideAdapter>().invoke_next(),
        Event::GuideNext,
    );
    w.expect(
        "GuideAdapter",
        "call_consultant",
        |a| a.global::<GuideAdapter>().invoke_call_consultant(),
        Event::CallConsultant,
    );
    for (rating, flow) in [
        (Rating::Bad, FlowRating::Bad),
        (Rating::Neutral, FlowRating::Neutral),
        (Rating::Good, FlowRating::Good),
    ] {
        w.expect(
            "GuideAdapter",
            "rate",
            |a| a.global::<GuideAdapter>().invoke_rate(rating),
            Event::Rate(flow),
        );
    }

    // Appeals: every topic, the recording buttons, typed text, the callback phone.
    for (topic, flow) in [
        (AppealTopic::Complaint, Topic::Complaint),
        (AppealTopic::Request, Topic::Request),
        (AppealTopic::Gratitude, Topic::Gratitude),
        (AppealTopic::BribeReport, Topic::BribeReport),
        (AppealTopic::Other, Topic::Other),
    ] {
        w.expect(
            "AppealAdapter",
            "select_topic",
            |a| a.global::<AppealAdapter>().invoke_select_topic(topic),
            Event::SelectTopic(flow),
        );
    }
    w.expect(
        "AppealAdapter",
        "accept",
        |a| a.global::<AppealAdapter>().invoke_accept(),
        Event::ConsentAccept,
    );
    w.expect(
        "AppealAdapter",
        "stop",
        |a| a.global::<AppealAdapter>().invoke_stop(),
        Event::StopRecording,
    );
    w.expect(
        "AppealAdapter",
        "rerecord",
        |a| a.global::<AppealAdapter>().invoke_rerecord(),
        Event::ReRecord,
    );
    w.expect(
        "AppealAdapter",
        "replay",
        |a| a.global::<AppealAdapter>().invoke_replay(),
        Event::ReplayTake,
    );
    w.app.global::<AppealAdapter>().set_text(s("Сәлем"));
    w.expect(
        "AppealAdapter",
        "text_key",
        |a| a.global::<AppealAdapter>().invoke_text_key(s("!")),
        Event::AppealText("Сәлем!".into()),
    );
    w.expect(
        "AppealAdapter",
        "text_backspace",
        |a| a.global::<AppealAdapter>().invoke_text_backspace(),
        Event::AppealText("Сәле".into()),
    );
    w.expect(
        "AppealAdapter",
        "send",
        |a| a.global::<AppealAdapter>().invoke_send(),
        Event::Send,
    );
    w.expect(
        "AppealAdapter",
        "digit",
        |a| a.global::<AppealAdapter>().invoke_digit(s("0")),
        Event::KeypadDigit('0'),
    );
    w.expect_nothing("AppealAdapter", "digit", |a| {
        a.global::<AppealAdapter>().invoke_digit(s("+"))
    });
    w.expect(
        "AppealAdapter",
        "backspace",
        |a| a.global::<AppealAdapter>().invoke_backspace(),
        Event::KeypadBackspace,
    );
    w.expect(
        "AppealAdapter",
        "submit_phone",
        |a| a.global::<AppealAdapter>().invoke_submit_phone(),
        Event::KeypadSubmit,
    );
    w.expect(
        "AppealAdapter",
        "skip_phone",
        |a| a.global::<AppealAdapter>().invoke_skip_phone(),
        Event::SkipPhone,
    );
    w.expect(
        "AppealAdapter",
        "done",
        |a| a.global::<AppealAdapter>().invoke_done(),
        Event::Continue,
    );

    // The live call: offer, cancel, hang up, volume steps from the level shown, what follows.
    w.expect(
        "CallAdapter",
        "call_now",
        |a| a.global::<CallAdapter>().invoke_call_now(),
        Event::CallNow,
    );
    w.expect(
        "CallAdapter",
        "cancel",
        |a| a.global::<CallAdapter>().invoke_cancel(),
        Event::Back,
    );
    w.expect(
        "CallAdapter",
        "hang_up",
        |a| a.global::<CallAdapter>().invoke_hang_up(),
        Event::HangUp,
    );
    for (shown, louder, sent) in [
        (60, true, 70),
        (60, false, 50),
        (100, true, 100),
        (4, false, 0),
    ] {
        w.app.global::<CallAdapter>().set_volume(shown);
        let (callback, invoke): (_, fn(&AppWindow)) = if louder {
            ("volume_up", |a| {
                a.global::<CallAdapter>().invoke_volume_up()
            })
        } else {
            ("volume_down", |a| {
                a.global::<CallAdapter>().invoke_volume_down()
            })
        };
        w.expect("CallAdapter", callback, invoke, Event::CallVolume(sent));
    }
    w.expect(
        "CallAdapter",
        "record_instead",
        |a| a.global::<CallAdapter>().invoke_record_instead(),
        Event::ConsentAccept,
    );
    w.expect(
        "CallAdapter",
        "retry_save",
        |a| a.global::<CallAdapter>().invoke_retry_save(),
        Event::Send,
    );

    // Technician mode: PIN keypad, the test pages, the actions.
    w.expect(
        "TechnicianAdapter",
        "digit",
        |a| a.global::<TechnicianAdapter>().invoke_digit(s("4")),
        Event::KeypadDigit('4'),
    );
    w.expect(
        "TechnicianAdapter",
        "backspace",
        |a| a.global::<TechnicianAdapter>().invoke_backspace(),
        Event::KeypadBackspace,
    );
    w.expect(
        "TechnicianAdapter",
        "submit",
        |a| a.global::<TechnicianAdapter>().invoke_submit(),
        Event::KeypadSubmit,
    );
    for (test, flow) in [
        (TechTest::Scanner, FlowTest::Scanner),
        (TechTest::Camera, FlowTest::Camera),
        (TechTest::Printer, FlowTest::Printer),
    ] {
        w.expect(
            "TechnicianAdapter",
            "open_test",
            |a| a.global::<TechnicianAdapter>().invoke_open_test(test),
            Event::TechnicianOpen(flow),
        );
    }
    w.expect(
        "TechnicianAdapter",
        "recheck",
        |a| a.global::<TechnicianAdapter>().invoke_recheck(),
        Event::TechnicianRecheck,
    );
    w.expect(
        "TechnicianAdapter",
        "print_test",
        |a| a.global::<TechnicianAdapter>().invoke_print_test(),
        Event::TechnicianPrintTest,
    );
    w.expect(
        "TechnicianAdapter",
        "leave",
        |a| a.global::<TechnicianAdapter>().invoke_leave(),
        Event::TechnicianExit,
    );
    w.expect(
        "TechnicianAdapter",
        "restart",
        |a| a.global::<TechnicianAdapter>().invoke_restart(),
        Event::Restart,
    );

    // Nothing declared in ui/adapters.slint was left out above.
    let invoked: BTreeSet<(String, String)> = w
        .invoked
        .borrow()
        .iter()
        .map(|(g, c)| (g.to_string(), c.to_string()))
        .collect();
    let declared = declared_callbacks();
    assert!(declared.len() > 40, "found only {declared:?}");
    let missing: Vec<_> = declared.difference(&invoked).collect();
    assert!(missing.is_empty(), "callbacks not tested: {missing:?}");
}

/// The camera block is written only through `ui::show_frame` / `ui::show_level`, and the
/// identify, appeal and technician pages all read it.
#[test]
fn camera_picture_and_level_reach_the_camera_adapter() {
    let (_window, app) = headless::window();
    let pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(64, 48);
    ui::show_frame(&app, Some(pixels));
    ui::show_level(&app, 0.25);
    let camera = app.global::<CameraAdapter>();
    let size = camera.get_preview().size();
    assert_eq!((size.width, size.height), (64, 48));
    assert_eq!(camera.get_mic_level(), 0.25);
    ui::show_frame(&app, None);
    ui::show_level(&app, 0.0);
    assert_eq!(camera.get_preview().size().width, 0);
    assert_eq!(camera.get_mic_level(), 0.0);
}

/// The operator's picture is written only through `ui::show_operator_frame`, and goes with the
/// call: once the flow leaves the in-call page, nothing of it stays in the UI.
#[test]
fn operator_picture_reaches_the_call_adapter_and_goes_with_the_call() {
    let (_window, app) = headless::window();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = senim_kiosk::config::Config::load(&root.join("config/kiosk.demo.toml"))
        .expect("demo config");
    let catalog =
        senim_kiosk::catalog::Catalog::load_dir(&root.join("config/services")).expect("catalogue");
    let view = ui::CatalogView::new(catalog.clone());
    let info = ui::KioskInfo::default();
    let mut flow = senim_kiosk::flow::Flow::new(senim_kiosk::app::flow_config(&config, &catalog));
    let mut now = 0;
    let mut send = |flow: &mut senim_kiosk::flow::Flow, e: Event| {
        now += 100;
        flow.handle(now, e);
        now
    };
    use senim_kiosk::flow::{CallEnd, Device, Health};
    send(&mut flow, Event::DeviceHealth(Device::Camera, Health::Ok));
    send(
        &mut flow,
        Event::DeviceHealth(Device::Microphone, Health::Ok),
    );
    send(
        &mut flow,
        Event::Sync {
            online: true,
            pending: 0,
        },
    );
    send(&mut flow, Event::OperatorsAvailable(true));
    send(&mut flow, Event::Start);
    send(&mut flow, Event::Choose(Journey::Appeal));
    send(&mut flow, Event::ManualOpen);
    for d in "880101300010".chars() {
        send(&mut flow, Event::KeypadDigit(d));
    }
    send(&mut flow, Event::KeypadSubmit);
    send(&mut flow, Event::Continue);
    send(&mut flow, Event::SelectTopic(Topic::Request));
    let t = send(&mut flow, Event::CallNow);
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(ui::screen_of(&flow), ui::Screen::CallRinging);
    send(
        &mut flow,
        Event::CallRinging {
            call_id: "c-1".into(),
        },
    );
    let t = send(
        &mut flow,
        Event::CallAnswered {
            operator: "Aigerim".into(),
        },
    );
    ui::apply(&app, &flow, &view, &info, t);
    let call = app.global::<CallAdapter>();
    assert_eq!(call.get_operator(), "Aigerim");
    assert_eq!(call.get_operator_frame().size().width, 0, "connecting…");
    ui::show_operator_frame(
        &app,
        Some(slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(64, 48)),
    );
    ui::apply(&app, &flow, &view, &info, t + 1_000);
    let size = call.get_operator_frame().size();
    assert_eq!(
        (size.width, size.height),
        (64, 48),
        "kept while in the call"
    );
    assert_eq!(call.get_elapsed_seconds(), 1);

    let t = send(&mut flow, Event::CallEnded(CallEnd::Lost));
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(ui::screen_of(&flow), ui::Screen::CallEnded);
    assert_eq!(call.get_operator_frame().size().width, 0);
    assert_eq!(call.get_operator(), "");
    assert_eq!(call.get_ended(), ui::CallEndReason::Lost);
    assert_eq!(call.get_saving(), ui::CallSaving::Saving);
    let t = send(
        &mut flow,
        Event::AppealSaved {
            number: "C1-02".into(),
            check_code: Default::default(),
        },
    );
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(call.get_saving(), ui::CallSaving::Saved);
    assert_eq!(call.get_saved_number(), "C1-02");
    let t = send(&mut flow, Event::EndSession);
    ui::apply(&app, &flow, &view, &info, t);
    assert_eq!(call.get_saved_number(), "");
    assert_eq!(call.get_saving(), ui::CallSaving::None);
}
