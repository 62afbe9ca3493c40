//! What each screenshot must say: the translated strings (looked up in the `.po` catalogue of
//! the language shown) and the adapter texts (catalogue entries, numbers, what was typed).

use std::collections::HashMap;
use std::path::Path;

use senim_kiosk::catalog::Catalog;
use senim_kiosk::flow::Lang;
use senim_kiosk::ui::{AppWindow, AppealAdapter, TechnicianAdapter};
use slint::ComponentHandle;

use super::journeys::{category, service, OPERATOR};

/// One text a screen must show.
pub enum Says {
    /// A `@tr()` string without placeholders, by its English source.
    Tr(&'static str),
    /// A `@tr()` string with its placeholders `{0}`, `{1}`… filled in.
    TrWith(&'static str, Vec<String>),
    /// A text that comes from an adapter as it is (catalogue, appeal number, typed text).
    Text(String),
}

/// A language's `.po` catalogue: English source → translation (entries without a context).
pub struct Po(HashMap<String, String>);

impl Po {
    pub fn load(lang: Lang) -> Po {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "translations/{}/LC_MESSAGES/senim-kiosk.po",
            lang.code()
        ));
        let po = rspolib::pofile(path.to_str().expect("utf-8 path"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Po(po
            .entries
            .iter()
            .filter(|e| !e.obsolete && e.msgctxt.is_none())
            .map(|e| {
                let msgstr = e.msgstr.clone().unwrap_or_default();
                let shown = if msgstr.is_empty() {
                    e.msgid.clone()
                } else {
                    msgstr
                };
                (e.msgid.clone(), shown)
            })
            .collect())
    }

    /// The translation of `msgid`; panics if the catalogue lacks it (tests/translations.rs
    /// says which).
    pub fn tr(&self, msgid: &str) -> &str {
        self.0
            .get(msgid)
            .unwrap_or_else(|| panic!("{msgid:?} is not in the catalogue"))
    }

    /// The text `says` expects on screen, and the English source it must replace (for a
    /// translated string whose translation differs from the source).
    pub fn expect(&self, says: &Says) -> (String, Option<String>) {
        let fill = |text: &str, args: &[String]| {
            args.iter().enumerate().fold(text.to_string(), |t, (i, a)| {
                t.replace(&format!("{{{i}}}"), a)
            })
        };
        match says {
            Says::Tr(msgid) => {
                let shown = self.tr(msgid).to_string();
                let source = (shown != *msgid).then(|| msgid.to_string());
                (shown, source)
            }
            Says::TrWith(msgid, args) => {
                let shown = fill(self.tr(msgid), args);
                let source = fill(msgid, args);
                let source = (shown != source).then_some(source);
                (shown, source)
            }
            Says::Text(text) => (text.clone(), None),
        }
    }
}

/// "Monday 23 November, 09:00" (the pictures' next opening) as the language writes it.
fn monday_9(lang: Lang) -> String {
    match lang {
        Lang::En => "Monday 23 November, 09:00",
        Lang::Kk => "23 қараша, дүйсенбі, 09:00",
        Lang::Ru => "понедельник, 23 ноября, 09:00",
    }
    .into()
}

fn clock(seconds: i32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// What the screenshot `shot` says in `lang` (besides the top bar).
pub fn says(shot: &str, lang: Lang, catalog: &Catalog, app: &AppWindow) -> Vec<Says> {
    use Says::{Text, Tr, TrWith};
    let svc = |id: &str| &catalog.services[service(catalog, id)];
    let title = |id: &str| Text(svc(id).title.get(lang).to_string());
    let step = |id: &str, i: usize| Text(svc(id).steps[i].text.get(lang).to_string());
    let appeal = app.global::<AppealAdapter>();
    let tech = app.global::<TechnicianAdapter>();
    let version = env!("CARGO_PKG_VERSION").to_string();
    match shot {
        "attract" | "attract-after-session" => vec![
            Tr("Touch the screen to start"),
            Tr("Call-centre operators are online now"),
        ],
        "attract-closed-offline" => vec![
            Tr("Touch the screen to start"),
            TrWith("Offline · {0} waiting to be sent", vec!["3".into()]),
        ],
        "menu" => vec![
            Tr("How can we help you?"),
            Tr("Leave an appeal"),
            Tr("Service guides"),
        ],
        "identify" => vec![
            Tr("Hold your ID card to the scanner"),
            Tr("Type the IIN instead"),
        ],
        "identify-invalid" => vec![
            Tr("Hold your ID card to the scanner"),
            Tr("The last digit does not match the rest of the number, so one digit is probably wrong. Please check the number and try again."),
        ],
        "identify-keypad" => vec![
            Tr("Type your IIN"),
            Tr("The 12-digit number printed on your ID card."),
        ],
        "identified" => vec![
            Tr("Hello! Your card has been read."),
            TrWith("IIN {0}", vec!["88••••••••10".into()]),
            Tr("Continue"),
        ],
        "guide-categories" => {
            let mut says = vec![Tr("Service guides")];
            says.extend(
                catalog
                    .categories
                    .iter()
                    .map(|c| Text(c.title.get(lang).to_string())),
            );
            says
        }
        "guide-catalog" => {
            let family = &catalog.categories[category(catalog, "family")];
            let first = catalog
                .services
                .iter()
                .find(|s| s.category == family.id)
                .expect("a family service");
            vec![
                Text(family.title.get(lang).to_string()),
                Text(first.title.get(lang).to_string()),
            ]
        }
        "guide-search-keyboard" => vec![Text("эцп".into()), title("eds-issue")],
        "guide-search" => vec![Text("анықтама".into())],
        "guide-search-nothing" => vec![Tr("Nothing found. Try another word.")],
        "guide-service" => vec![
            title("eds-issue"),
            Text(svc("eds-issue").summary.get(lang).to_string()),
            Tr("What you get"),
            Tr("What to bring"),
            Tr("This service is free. Never pay anyone for it."),
            Tr("Show me the steps"),
        ],
        "guide-service-fee" => vec![
            title("driving-licence"),
            TrWith(
                "Only the state is paid: {0}",
                vec![svc("driving-licence")
                    .fee
                    .as_ref()
                    .map(|f| f.get(lang).to_string())
                    .expect("a fee")],
            ),
        ],
        "guide-step" => vec![
            TrWith(
                "Step {0} of {1}",
                vec!["3".into(), svc("eds-issue").steps.len().to_string()],
            ),
            step("eds-issue", 2),
            Tr("Call a consultant"),
        ],
        "guide-step-first" => vec![step("eds-issue", 0)],
        "guide-step-consultant" => vec![Tr(
            "A consultant has been called and will come to you. Please stay at the kiosk.",
        )],
        "guide-rating" => vec![Tr("Did it work?"), Tr("No"), Tr("Partly"), Tr("Yes")],
        "appeal-topic" => vec![
            Tr("What is your appeal about?"),
            Tr("A complaint"),
            Tr("A request"),
            Tr("A thank-you"),
            Tr("Someone asked me for a bribe"),
            Tr("Something else"),
        ],
        "appeal-consent" => vec![
            Tr("Before we record"),
            Tr("Only call-centre specialists who handle appeals will see the video and your IIN."),
            Tr("I agree, start recording"),
        ],
        "appeal-countdown" => vec![Tr("Look at the camera")],
        "appeal-recording" => vec![
            TrWith(
                "Recording {0}",
                vec![clock(appeal.get_elapsed_seconds())],
            ),
            Tr("Stop recording"),
        ],
        "appeal-review" => vec![
            Tr("Your video is recorded"),
            Tr("Record again"),
            Tr("Watch again"),
        ],
        "appeal-phone-invalid" => vec![
            Tr("May we call you back?"),
            Tr("A mobile number has 10 digits after +7 and starts with 7. Please check it."),
            Text("+7 601 123 45 67".into()),
        ],
        "appeal-save-failed" => vec![
            Tr("Your appeal could not be saved on this kiosk. Please try again, or ask a member of staff for help."),
            Tr("Try again"),
        ],
        "appeal-receipt" => vec![
            Tr("Your appeal has been accepted"),
            Tr("Appeal number"),
            Text("K7F-42Q".into()),
            Tr("Check code"),
            Text("QR7D KXW2 M5TB NZ4H".into()),
        ],
        "appeal-receipt-offline" => vec![
            Text("K7F-42Q".into()),
            Tr("The network is down right now. Your appeal is stored safely on this kiosk and will be sent as soon as the connection is back."),
        ],
        "idle-warning" => vec![
            Tr("Are you still there?"),
            Tr("Finish now"),
            Tr("Yes, I am here"),
        ],
        "technician-pin-locked" => vec![
            Tr("Technician mode"),
            TrWith(
                "Too many wrong PINs. Try again in {0} seconds.",
                vec![tech.get_locked_seconds().to_string()],
            ),
        ],
        "technician-home" => vec![
            TrWith(
                "Kiosk {0} · version {1}",
                vec!["KGD-HOSP1-03".into(), version],
            ),
            Tr("FAIL"),
            Tr("WARN"),
            Tr("Disk space"),
            Text("the data disk is nearly full".into()),
            Tr("Technician mode"),
            Tr("Network"),
            Tr("Scanner test"),
            Tr("Leave technician mode"),
        ],
        "technician-scanner" => vec![
            Tr("Scanner test"),
            Tr("Card scanner"),
            Tr("working"),
            Tr("Read as"),
            Text("badge".into()),
            Text("SENIM-TECH:tech_01-AB".into()),
        ],
        "technician-camera" => vec![
            Tr("Camera and microphone"),
            Tr("Camera"),
            Tr("working"),
            Tr("Microphone level"),
        ],
        "technician-printer" => vec![
            Tr("Printer test"),
            Tr("Print a test slip"),
            Tr("The test slip was printed. Check that the Kazakh letters and the QR code are clear."),
        ],
        "enrol" => vec![
            Tr("This kiosk is not enrolled"),
            TrWith("Kiosk software {0}", vec![version]),
        ],
        "enrol-refused" => vec![Tr(
            "This enrolment code has already been used. Make a new one in the console.",
        )],
        "appeal-recording-voice" => vec![Tr("Your voice is being recorded")],
        "appeal-consent-typed" => vec![
            Tr("Before you write"),
            Tr("The camera and the microphone are not working today, so please type your appeal on the screen."),
            Tr("I agree, start writing"),
        ],
        "appeal-text" => vec![
            Tr("Write your appeal"),
            Text(format!("{}|", appeal.get_text())),
        ],
        "appeal-consent-failed" => vec![Tr(
            "The recording did not work. Nothing was kept. Please try once more.",
        )],
        "appeal-no-room" => vec![Tr(
            "This kiosk cannot record a video appeal right now: its storage is full. The technicians have been told.",
        )],
        "appeal-consent-call" => vec![
            Tr("Talk to a specialist now"),
            Tr("I agree, start recording"),
            Tr("A specialist can answer you now by video. The call is recorded like an appeal."),
        ],
        "appeal-consent-closed" => vec![
            Tr("I agree, start recording"),
            TrWith(
                "Specialists cannot take calls now: they are back on {0}.",
                vec![monday_9(lang)],
            ),
        ],
        "appeal-consent-offline" => vec![Tr(
            "A call is not possible now: there is no connection to the call-centre.",
        )],
        "call-ringing" => vec![
            Tr("Calling a specialist…"),
            Tr("Please wait. A specialist will answer you on this screen."),
            TrWith("Waiting {0}", vec!["0:17".into()]),
            Tr("Cancel the call"),
        ],
        "in-call" | "in-call-connecting" => {
            let mut says = vec![
                Text(OPERATOR.into()),
                TrWith("In the call {0}", vec!["1:23".into()]),
                Tr("Hang up"),
                Tr("Volume"),
                Tr("Quieter"),
                Tr("Louder"),
                Tr("You"),
            ];
            if shot == "in-call-connecting" {
                says.push(Tr("Connecting the picture…"));
            }
            says
        }
        "call-ended-unanswered" => vec![
            Tr("No specialist answered"),
            Tr("You can record your appeal instead: a specialist will watch it. You do not need to show your ID card again."),
            Tr("Record an appeal"),
            Tr("Finish"),
        ],
        "call-ended-unavailable" => vec![
            Tr("No specialist can take a call right now"),
            Tr("Record an appeal"),
        ],
        "call-ended-failed" => vec![
            Tr("The call could not be connected"),
            Tr("Something went wrong with the connection. You can record your appeal instead: a specialist will watch it."),
            Tr("Record an appeal"),
        ],
        "call-ended-lost-saving" => vec![
            Tr("The call was lost"),
            Tr("What you said so far is saved as your appeal."),
            Tr("Saving your appeal…"),
            Tr("Record the rest"),
        ],
        "call-ended-lost" => vec![
            Tr("The call was lost"),
            Tr("Appeal number"),
            Text("C9-014".into()),
            Tr("Check code"),
            Text("QR7D KXW2 M5TB NZ4H".into()),
            Tr("You can record the rest as a new appeal, or finish here."),
            Tr("Record the rest"),
        ],
        other => panic!("no expected texts for the screenshot {other}: add them to says()"),
    }
}
