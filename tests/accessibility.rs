//! What a screen reader and a citizen at the on-screen keyboard get: every control of every
//! screen, in each language and orientation, has an accessible role and a label in that
//! language; the keyboard types upper and lower case, digits and punctuation in every layout,
//! with every letter of the Kazakh, Russian and Latin alphabets; the IIN and phone fields open
//! a digit pad.

#[path = "support/headless.rs"]
#[allow(dead_code)]
mod headless;
#[path = "support/journeys.rs"]
#[allow(dead_code)]
mod journeys;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, PhysicalSize};

use senim_kiosk::flow::{Event, Lang};
use senim_kiosk::ui::{self, AppWindow, AppealAdapter, KioskInfo};

use journeys::journeys;

/// The roles of things a person acts on.
const CONTROLS: [AccessibleRole; 9] = [
    AccessibleRole::Button,
    AccessibleRole::Checkbox,
    AccessibleRole::Combobox,
    AccessibleRole::Slider,
    AccessibleRole::Spinbox,
    AccessibleRole::Switch,
    AccessibleRole::TextInput,
    AccessibleRole::ListItem,
    AccessibleRole::RadioButton,
];

/// English sources whose translation in `lang` differs: a label equal to one of them is shown
/// in English to a citizen who chose Kazakh or Russian.
fn english_sources(lang: Lang) -> HashMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "translations/{}/LC_MESSAGES/senim-kiosk.po",
        lang.code()
    ));
    let po = rspolib::pofile(path.to_str().expect("utf-8 path"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    po.entries
        .iter()
        .filter(|e| !e.obsolete && e.msgctxt.is_none())
        .filter_map(|e| {
            let shown = e.msgstr.clone().unwrap_or_default();
            (!shown.is_empty() && shown != e.msgid).then(|| (e.msgid.clone(), shown))
        })
        .collect()
}

struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

fn rect(e: &ElementHandle) -> Rect {
    let p = e.absolute_position();
    let s = e.size();
    Rect {
        x: p.x,
        y: p.y,
        w: s.width,
        h: s.height,
    }
}

/// Whether a control of `c`'s box is the one a touch on `t` (a TouchArea) acts on: it holds the
/// touch area's centre and is about its size (not a whole card or page around it).
fn owns(c: &Rect, t: &Rect) -> bool {
    let (cx, cy) = (t.x + t.w / 2.0, t.y + t.h / 2.0);
    let holds = cx >= c.x && cx <= c.x + c.w && cy >= c.y && cy <= c.y + c.h;
    let ratio = (c.w * c.h) / (t.w * t.h).max(1.0);
    holds && (0.4..=2.5).contains(&ratio)
}

#[test]
fn every_control_on_every_screen_has_a_role_and_a_label_in_the_citizens_language() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let info = journeys::kiosk_info(&config);
    let (window, app) = headless::window();
    app.show().expect("show");

    let mut problems = BTreeSet::new();
    let mut controls_seen = 0usize;
    let mut screens = 0usize;
    for size in [PhysicalSize::new(1920, 1080), PhysicalSize::new(1080, 1920)] {
        window.set_size(size);
        let window_area = (size.width * size.height) as f32;
        for lang in [Lang::En, Lang::Kk, Lang::Ru] {
            ui::select_language(lang);
            let english = english_sources(lang);
            for shot in journeys(&config, &catalog, lang) {
                ui::apply(&app, &shot.flow, &view, &info, shot.now);
                slint::platform::update_timers_and_animations();
                screens += 1;
                let mut controls = Vec::new();
                let mut touch_areas = Vec::new();
                app.root_element().visit_descendants(|e| {
                    if e.computed_opacity() <= 0.01 {
                        return std::ops::ControlFlow::<()>::Continue(());
                    }
                    let r = rect(&e);
                    if r.w < 1.0 || r.h < 1.0 {
                        return std::ops::ControlFlow::Continue(());
                    }
                    let control = e
                        .accessible_role()
                        .is_some_and(|role| CONTROLS.contains(&role));
                    let hidden = e.id().as_deref() == Some("TechnicianCorner::hidden-gesture");
                    if e.type_name().as_deref() == Some("TouchArea") && !control && !hidden {
                        touch_areas.push(rect(&e));
                    }
                    if control {
                        controls.push((e.accessible_label().unwrap_or_default().to_string(), r));
                    }
                    std::ops::ControlFlow::Continue(())
                });
                let place = format!(
                    "{} ({}, {}x{})",
                    shot.name,
                    lang.code(),
                    size.width,
                    size.height
                );
                for (label, _) in &controls {
                    controls_seen += 1;
                    if label.trim().is_empty() {
                        problems.insert(format!("{place}: a control without a label"));
                    } else if let Some(shown) = english.get(label) {
                        problems.insert(format!(
                            "{place}: control labelled {label:?} in English, not {shown:?}"
                        ));
                    }
                }
                for t in &touch_areas {
                    // The window's own "any touch keeps the session alive" and the idle
                    // warning's shield cover the whole window: they are not controls.
                    if t.w * t.h >= 0.9 * window_area {
                        continue;
                    }
                    if !controls.iter().any(|(_, c)| owns(c, t)) {
                        problems.insert(format!(
                            "{place}: something to touch at ({:.0},{:.0}) {:.0}x{:.0} has no accessible role",
                            t.x, t.y, t.w, t.h
                        ));
                    }
                }
            }
        }
    }
    assert!(
        screens > 150 && controls_seen > 2000,
        "the walk reached {screens} screens and {controls_seen} controls"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The kiosk window on the typed-appeal page, its keyboard wired to a text that grows as the
/// journey's would (`Event::AppealText` carries the whole text).
fn keyboard_page(lang: Lang) -> (AppWindow, Rc<RefCell<String>>) {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let (window, app) = headless::window();
    app.show().expect("show");
    window.set_size(PhysicalSize::new(1080, 1920));
    ui::select_language(lang);
    let shot = journeys(&config, &catalog, lang)
        .into_iter()
        .find(|s| s.name == "appeal-text")
        .expect("the journeys reach the typed appeal");
    ui::apply(&app, &shot.flow, &view, &KioskInfo::default(), shot.now);
    let text = Rc::new(RefCell::new(String::new()));
    let typed = text.clone();
    let weak = app.as_weak();
    ui::connect(
        &app,
        Rc::new(move |e| {
            if let Event::AppealText(t) = e {
                *typed.borrow_mut() = t.clone();
                if let Some(app) = weak.upgrade() {
                    app.global::<AppealAdapter>().set_text(t.into());
                }
            }
        }),
    );
    app.global::<AppealAdapter>().set_text("".into());
    slint::platform::update_timers_and_animations();
    (app, text)
}

/// The labels of the keyboard's keys now (buttons whose label is one character).
fn single_keys(app: &AppWindow) -> BTreeSet<String> {
    app.root_element()
        .query_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .filter(|l| l.chars().count() == 1)
        .collect()
}

fn press(app: &AppWindow, label: &str) {
    let key = ElementHandle::find_by_accessible_label(app, label)
        .find(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .unwrap_or_else(|| panic!("no key {label:?}; keys: {:?}", single_keys(app)));
    // A touch at the key's centre, through the window as a real touch arrives.
    let (p, s) = (key.absolute_position(), key.size());
    let position = slint::LogicalPosition::new(p.x + s.width / 2.0, p.y + s.height / 2.0);
    let button = PointerEventButton::Left;
    let window = app.window();
    window.dispatch_event(WindowEvent::PointerPressed { position, button });
    window.dispatch_event(WindowEvent::PointerReleased { position, button });
    slint::platform::update_timers_and_animations();
}

const KAZAKH: &str = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя";
const RUSSIAN: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
const LATIN: &str = "abcdefghijklmnopqrstuvwxyz";
const PUNCTUATION: &str = ".,?!:;\"'()-+№@";

#[test]
fn every_layout_has_both_cases_digits_punctuation_and_its_whole_alphabet() {
    let (app, _text) = keyboard_page(Lang::Kk);
    assert_eq!(KAZAKH.chars().count(), 42, "the Kazakh Cyrillic alphabet");
    assert_eq!(RUSSIAN.chars().count(), 33);
    for (switch, alphabet) in [
        ("Қазақ әріптері", KAZAKH),
        ("Орыс әріптері", RUSSIAN),
        ("Латын әріптері", LATIN),
    ] {
        // The switch names each layout (in the citizen's language, for a screen reader).
        press(&app, switch);
        let lower = single_keys(&app);
        press(&app, "Бас әріп");
        let upper = single_keys(&app);
        for c in alphabet.chars() {
            let (l, u) = (c.to_string(), c.to_uppercase().to_string());
            assert!(
                lower.contains(&l),
                "{switch}: no {l:?} key; keys: {lower:?}"
            );
            assert!(
                upper.contains(&u),
                "{switch}: no {u:?} key with capitals on"
            );
            assert!(
                !upper.contains(&l),
                "{switch}: {l:?} still small with capitals on"
            );
        }
        for c in ('0'..='9').chain(PUNCTUATION.chars()) {
            assert!(lower.contains(&c.to_string()), "{switch}: no {c:?} key");
        }
        // Back to small letters for the next layout.
        press(&app, "Бас әріп");
        press(&app, "Барлығы бас әріппен");
    }
}

#[test]
fn capitals_once_or_locked_digits_and_punctuation_are_typed_as_shown() {
    let (app, text) = keyboard_page(Lang::Ru);
    // One touch: the next letter is a capital, the one after is small again.
    press(&app, "Заглавная буква");
    press(&app, "Ж");
    press(&app, "и");
    assert_eq!(*text.borrow(), "Жи");
    // Two touches: capitals until turned off.
    press(&app, "Заглавная буква");
    press(&app, "Заглавная буква");
    press(&app, "Ш");
    press(&app, "Ё");
    press(&app, "Все заглавными");
    press(&app, "7");
    press(&app, "0");
    press(&app, "№");
    press(&app, "?");
    press(&app, "Казахские буквы");
    press(&app, "ә");
    press(&app, "Латинские буквы");
    press(&app, "q");
    press(&app, "@");
    assert_eq!(*text.borrow(), "ЖиШЁ70№?әq@");
}

#[test]
fn the_iin_and_phone_fields_open_a_digit_pad_not_the_keyboard() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let (window, app) = headless::window();
    app.show().expect("show");
    window.set_size(PhysicalSize::new(1920, 1080));
    ui::select_language(Lang::En);
    let shots = journeys(&config, &catalog, Lang::En);
    let mut pads = 0;
    for name in ["identify-keypad", "appeal-phone-invalid"] {
        let shot = shots
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the journeys reach {name}"));
        ui::apply(&app, &shot.flow, &view, &KioskInfo::default(), shot.now);
        slint::platform::update_timers_and_animations();
        let keys = single_keys(&app);
        let digits: BTreeSet<String> = ('0'..='9').map(String::from).collect();
        assert!(
            keys.is_superset(&digits),
            "{name}: the digits 0–9: {keys:?}"
        );
        assert!(
            !keys.iter().any(|k| k.chars().any(char::is_alphabetic)),
            "{name}: letters offered for a number: {keys:?}"
        );
        assert!(
            ElementHandle::find_by_accessible_label(&app, "Space")
                .next()
                .is_none(),
            "{name}: the full keyboard is open"
        );
        pads += 1;
    }
    assert_eq!(pads, 2);
}
