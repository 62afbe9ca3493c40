//! Every screen of the kiosk ([`Screen`]), what the citizen leaves with ([`Receipt`]), and how a
//! live call ended ([`CallEnd`]).
//!
//! `Debug` never shows what a citizen typed (IIN, phone, PIN, search, appeal text), nor the
//! name of the operator in a call.

use std::fmt;

use super::Millis;

/// Every screen of the kiosk. `Debug` hides typed digits (IIN, phone, PIN).
#[derive(Clone, PartialEq, Eq)]
pub enum Screen {
    /// A kiosk that is not (or no longer) enrolled: "scan the enrolment code".
    Enrol {
        /// The code is being exchanged with the call-centre.
        busy: bool,
        /// Why the last attempt failed (a stable code the UI translates).
        error: Option<&'static str>,
    },
    Attract,
    Menu,
    /// Hold the ID card to the scanner, or type the IIN on the keypad.
    Identify {
        /// Digits typed so far when the keypad is open.
        manual: Option<String>,
        /// Why the last read was refused (a stable code the UI translates).
        error: Option<&'static str>,
    },
    /// The card was read: masked IIN and a greeting.
    Identified {
        since: Millis,
    },
    /// The service guides' home: one large tile per category, and the search field.
    GuideCategories,
    /// The services of one category.
    GuideCatalog {
        category: usize,
    },
    /// Search over every service; `keyboard` shows the on-screen keyboard.
    GuideSearch {
        query: String,
        keyboard: bool,
    },
    /// A service's page: what it gives, what to bring, "free — never pay anyone".
    GuideService {
        service: usize,
    },
    GuideStep {
        service: usize,
        step: usize,
        consultant_called: bool,
    },
    GuideRating {
        service: usize,
    },
    AppealTopic,
    AppealConsent,
    /// The kiosk has no room for a recording now (disk full, store broken).
    AppealNoRoom,
    /// A typed appeal (no camera or microphone working), on the on-screen keyboard.
    AppealText {
        text: String,
    },
    AppealCountdown {
        until: Millis,
    },
    AppealRecording {
        started: Millis,
    },
    AppealReview,
    AppealPhone {
        digits: String,
        invalid: bool,
    },
    AppealSaving {
        failed: bool,
    },
    AppealReceipt {
        receipt: Receipt,
    },
    /// "Calling a specialist…" since `since`, with a large "Cancel".
    CallRinging {
        since: Millis,
    },
    /// In the call since `since` with the operator called `operator` (their display name).
    InCall {
        since: Millis,
        operator: String,
    },
    /// The call ended without a receipt page: unanswered, refused, failed, or lost after it
    /// was answered (then what was said is saved as an appeal). Offers to record instead.
    CallEnded {
        why: CallEnd,
    },
    TechnicianPin {
        digits: String,
        wrong: bool,
    },
    /// The checks (as `senim-kiosk doctor`), sync queue, versions; doors to the device tests.
    TechnicianHome,
    /// One device test: raw scans, camera preview and microphone level, printer test slip.
    TechnicianTest(TechTest),
}

/// The device tests of technician mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TechTest {
    Scanner,
    Camera,
    Printer,
}

impl Screen {
    /// A stable name for logs and tests; never carries what the citizen typed or scanned.
    pub fn name(&self) -> &'static str {
        match self {
            Screen::Enrol { .. } => "enrol",
            Screen::Attract => "attract",
            Screen::Menu => "menu",
            Screen::Identify {
                manual: None,
                error: None,
            } => "identify",
            Screen::Identify {
                manual: None,
                error: Some(_),
            } => "identify-refused",
            Screen::Identify {
                manual: Some(_), ..
            } => "identify-keypad",
            Screen::Identified { .. } => "identified",
            Screen::GuideCategories => "guide-categories",
            Screen::GuideCatalog { .. } => "guide-catalog",
            Screen::GuideSearch { .. } => "guide-search",
            Screen::GuideService { .. } => "guide-service",
            Screen::GuideStep { .. } => "guide-step",
            Screen::GuideRating { .. } => "guide-rating",
            Screen::AppealTopic => "appeal-topic",
            Screen::AppealConsent => "appeal-consent",
            Screen::AppealNoRoom => "appeal-no-room",
            Screen::AppealText { .. } => "appeal-text",
            Screen::AppealCountdown { .. } => "appeal-countdown",
            Screen::AppealRecording { .. } => "appeal-recording",
            Screen::AppealReview => "appeal-review",
            Screen::AppealPhone { .. } => "appeal-phone",
            Screen::AppealSaving { failed: false } => "appeal-saving",
            Screen::AppealSaving { failed: true } => "appeal-save-failed",
            Screen::AppealReceipt { .. } => "appeal-receipt",
            Screen::CallRinging { .. } => "call-ringing",
            Screen::InCall { .. } => "in-call",
            Screen::CallEnded {
                why: CallEnd::Unanswered,
            } => "call-ended-unanswered",
            Screen::CallEnded {
                why: CallEnd::Unavailable,
            } => "call-ended-unavailable",
            Screen::CallEnded {
                why: CallEnd::Lost | CallEnd::HungUpByOperator,
            } => "call-ended-lost",
            Screen::CallEnded {
                why: CallEnd::Failed,
            } => "call-ended-failed",
            Screen::TechnicianPin { .. } => "technician-pin",
            Screen::TechnicianHome => "technician-home",
            Screen::TechnicianTest(TechTest::Scanner) => "technician-scanner",
            Screen::TechnicianTest(TechTest::Camera) => "technician-camera",
            Screen::TechnicianTest(TechTest::Printer) => "technician-printer",
        }
    }
}

impl fmt::Debug for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let typed = |d: &str| format!("<{} digits>", d.len());
        match self {
            Screen::Identify { manual, error } => f
                .debug_struct("Identify")
                .field("manual", &manual.as_deref().map(typed))
                .field("error", error)
                .finish(),
            Screen::AppealPhone { digits, invalid } => f
                .debug_struct("AppealPhone")
                .field("digits", &typed(digits))
                .field("invalid", invalid)
                .finish(),
            Screen::TechnicianPin { digits, wrong } => f
                .debug_struct("TechnicianPin")
                .field("digits", &typed(digits))
                .field("wrong", wrong)
                .finish(),
            Screen::Enrol { busy, error } => f
                .debug_struct("Enrol")
                .field("busy", busy)
                .field("error", error)
                .finish(),
            Screen::Attract => f.write_str("Attract"),
            Screen::Menu => f.write_str("Menu"),
            Screen::Identified { since } => write!(f, "Identified {{ since: {since} }}"),
            Screen::GuideCategories => f.write_str("GuideCategories"),
            Screen::GuideCatalog { category } => write!(f, "GuideCatalog {{ category: {category} }}"),
            Screen::GuideSearch { query, keyboard } => f
                .debug_struct("GuideSearch")
                .field("query", &format_args!("<{} chars>", query.chars().count()))
                .field("keyboard", keyboard)
                .finish(),
            Screen::GuideService { service } => write!(f, "GuideService {{ service: {service} }}"),
            Screen::GuideStep {
                service,
                step,
                consultant_called,
            } => write!(
                f,
                "GuideStep {{ service: {service}, step: {step}, consultant_called: {consultant_called} }}"
            ),
            Screen::GuideRating { service } => write!(f, "GuideRating {{ service: {service} }}"),
            Screen::AppealTopic => f.write_str("AppealTopic"),
            Screen::AppealConsent => f.write_str("AppealConsent"),
            Screen::AppealNoRoom => f.write_str("AppealNoRoom"),
            Screen::AppealText { text } => {
                write!(f, "AppealText {{ <{} chars> }}", text.chars().count())
            }
            Screen::AppealCountdown { until } => write!(f, "AppealCountdown {{ until: {until} }}"),
            Screen::AppealRecording { started } => {
                write!(f, "AppealRecording {{ started: {started} }}")
            }
            Screen::AppealReview => f.write_str("AppealReview"),
            Screen::AppealSaving { failed } => write!(f, "AppealSaving {{ failed: {failed} }}"),
            Screen::AppealReceipt { receipt } => write!(f, "AppealReceipt {{ {receipt:?} }}"),
            Screen::CallRinging { since } => write!(f, "CallRinging {{ since: {since} }}"),
            Screen::InCall { since, .. } => {
                write!(f, "InCall {{ since: {since}, operator: <redacted> }}")
            }
            Screen::CallEnded { why } => write!(f, "CallEnded {{ why: {why:?} }}"),
            Screen::TechnicianHome => f.write_str("TechnicianHome"),
            Screen::TechnicianTest(t) => write!(f, "TechnicianTest({t:?})"),
        }
    }
}

/// What the citizen leaves with, once the appeal is durably stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Short, unambiguous, no personal data.
    pub number: String,
    /// `None`: an operator has it now; otherwise when it will be seen (local time).
    pub seen_at: Option<chrono::NaiveDateTime>,
    /// The backend could not be reached: "safe on this kiosk, on its way".
    pub offline: bool,
    /// The check code that opens the appeal's status page, with the number.
    pub check_code: CheckCode,
}

/// The secret that, with the appeal number, opens the citizen's status page: 16 characters of
/// `senim_protocol::CHECK_CODE_ALPHABET`, made by the kiosk's store when the appeal is
/// committed. Only the receipt (screen, slip, QR code) shows it; `Debug` never does.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CheckCode(pub String);

impl CheckCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// "ABCD EFGH IJKL MNOP": grouped by four for reading and typing.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Debug for CheckCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckCode(<redacted>)")
    }
}

/// How a call ended, as the app reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// The operator hung up an answered call.
    HungUpByOperator,
    /// Nobody answered in time.
    Unanswered,
    /// The call-centre refused the call: no operator can take it.
    Unavailable,
    /// The connection was lost during the call.
    Lost,
    /// The call could not be set up (signalling or media error).
    Failed,
}
