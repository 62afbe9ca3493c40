//! What each screen says: the texts of its prompt, taken from the kiosk's own translation
//! catalogues (the `.po` files built into the binary), so a changed text changes its prompt.

use std::collections::HashMap;

use senim_protocol::Lang;
use sha2::{Digest, Sha256};

use super::SpeechError;

/// Every screen's prompt: the screen's stable name (`Screen::name`) and the source texts
/// (msgids of `translations/*/LC_MESSAGES/senim-kiosk.po`) it reads out, in order: what the
/// screen is, then what to do next. Texts with placeholders are left out (a prompt is made
/// once, not per citizen).
pub const PROMPTS: &[(&str, &[&str])] = &[
    (
        "enrol",
        &[
            "This kiosk is not enrolled",
            "Hold the enrolment QR code to the scanner or the camera.",
        ],
    ),
    (
        "attract",
        &[
            "Trust kiosk",
            "Touch the screen to start",
            "Or hold the barcode of your ID card to the scanner",
        ],
    ),
    (
        "menu",
        &[
            "How can we help you?",
            "Leave an appeal",
            "Service guides",
        ],
    ),
    (
        "identify",
        &[
            "Hold your ID card to the scanner",
            "Turn the card over and hold the barcode on its back under the scanner's red light.",
        ],
    ),
    (
        "identify-refused",
        &["The scanner could not read this code. Please hold the card still and try again."],
    ),
    (
        "identify-keypad",
        &["Type your IIN", "The 12-digit number printed on your ID card."],
    ),
    ("identified", &["Hello! Your card has been read."]),
    (
        "guide-categories",
        &[
            "Service guides",
            "Choose a topic, then a service: we will show you every step.",
        ],
    ),
    (
        "guide-catalog",
        &["Choose a topic, then a service: we will show you every step."],
    ),
    ("guide-search", &["Search for a service"]),
    (
        "guide-service",
        &[
            "This service is free. Never pay anyone for it.",
            "Never give anyone your electronic signature key or your password, not even to a helper.",
            "Show me the steps",
        ],
    ),
    (
        "guide-step",
        &[
            "This service is free. Never pay anyone for it.",
            "Never give anyone your electronic signature key or your password, not even to a helper.",
        ],
    ),
    (
        "guide-rating",
        &["Did it work?", "Your answer helps us improve the guides."],
    ),
    (
        "appeal-topic",
        &[
            "What is your appeal about?",
            "Choose one. You will say everything else in your video.",
        ],
    ),
    (
        "appeal-consent",
        &[
            "Before we record",
            "Only call-centre specialists who handle appeals will see the video and your IIN.",
            "I agree, start recording",
        ],
    ),
    (
        "appeal-no-room",
        &[
            "This kiosk cannot record a video appeal right now: its storage is full. The technicians have been told.",
            "Please use another kiosk or ask a member of staff for help. Nothing has been recorded.",
        ],
    ),
    (
        "appeal-text",
        &[
            "Write your appeal",
            "Say what happened, where and when. You can give a phone number on the next page.",
        ],
    ),
    (
        "appeal-countdown",
        &[
            "Look at the camera",
            "Recording starts in a moment. Speak calmly and clearly.",
        ],
    ),
    ("appeal-recording", &["Your voice is being recorded"]),
    ("appeal-review", &["Your video is recorded", "Send"]),
    (
        "appeal-phone",
        &[
            "May we call you back?",
            "Type your mobile number if you want an answer by phone. This is optional.",
        ],
    ),
    ("appeal-saving", &["Saving your appeal…"]),
    (
        "appeal-save-failed",
        &["Your appeal could not be saved on this kiosk. Please try again, or ask a member of staff for help."],
    ),
    (
        "appeal-receipt",
        &[
            "Your appeal has been accepted",
            "Scan with your phone to follow your appeal",
        ],
    ),
    (
        "call-ringing",
        &[
            "Calling a specialist…",
            "Please wait. A specialist will answer you on this screen.",
        ],
    ),
    ("in-call", &["Hang up"]),
    (
        "call-ended-unanswered",
        &[
            "No specialist answered",
            "You can record your appeal instead: a specialist will watch it. You do not need to show your ID card again.",
        ],
    ),
    (
        "call-ended-unavailable",
        &[
            "No specialist can take a call right now",
            "You can record your appeal instead: a specialist will watch it. You do not need to show your ID card again.",
        ],
    ),
    (
        "call-ended-lost",
        &[
            "The call was lost",
            "What you said so far is saved as your appeal.",
            "You can record the rest as a new appeal, or finish here.",
        ],
    ),
    (
        "call-ended-failed",
        &[
            "The call could not be connected",
            "Something went wrong with the connection. You can record your appeal instead: a specialist will watch it.",
        ],
    ),
    ("technician-pin", &["Technician mode", "Enter the technician PIN."]),
    (
        "technician-home",
        &[
            "Technician mode",
            "Checking the devices, the network and the call-centre…",
        ],
    ),
    (
        "technician-scanner",
        &[
            "Scanner test",
            "Scan any barcode. What the scanner sent is shown here, byte by byte, and forgotten when you leave technician mode.",
        ],
    ),
    (
        "technician-camera",
        &[
            "Camera and microphone",
            "The picture is not recorded. Speak to see the microphone level move.",
        ],
    ),
    (
        "technician-printer",
        &[
            "Printer test",
            "Prints a test slip with this kiosk's id, the time, Kazakh letters and a QR code.",
        ],
    ),
];

/// The languages prompts are made in.
pub const LANGS: [Lang; 3] = Lang::ALL;

/// The catalogues built into this binary (the same files Slint bundles for the screens).
const PO: [(Lang, &str); 3] = [
    (
        Lang::Kk,
        include_str!("../../translations/kk/LC_MESSAGES/senim-kiosk.po"),
    ),
    (
        Lang::Ru,
        include_str!("../../translations/ru/LC_MESSAGES/senim-kiosk.po"),
    ),
    (
        Lang::En,
        include_str!("../../translations/en/LC_MESSAGES/senim-kiosk.po"),
    ),
];

/// The screens' translated texts, one table per language.
pub struct Texts {
    by_lang: HashMap<&'static str, HashMap<String, String>>,
}

impl Texts {
    /// Reads the catalogues built into the binary.
    pub fn built_in() -> Result<Texts, SpeechError> {
        let mut by_lang = HashMap::new();
        for (lang, content) in PO {
            let po = rspolib::pofile(content).map_err(|e| SpeechError::Catalogue {
                lang: lang.code(),
                message: e.to_string(),
            })?;
            let table = po
                .entries
                .iter()
                .filter(|e| !e.obsolete && e.msgctxt.is_none())
                .filter_map(|e| {
                    let text = e.msgstr.clone().filter(|s| !s.is_empty())?;
                    Some((e.msgid.clone(), text))
                })
                .collect();
            by_lang.insert(lang.code(), table);
        }
        Ok(Texts { by_lang })
    }

    /// The prompt text of `screen` in `lang`: its texts in order, each ending a sentence.
    pub fn prompt(&self, screen: &str, lang: Lang) -> Result<String, SpeechError> {
        let msgids = PROMPTS
            .iter()
            .find(|(name, _)| *name == screen)
            .map(|(_, ids)| *ids)
            .ok_or_else(|| SpeechError::NoPrompt(screen.to_string()))?;
        let table = self.by_lang.get(lang.code());
        let mut parts = Vec::with_capacity(msgids.len());
        for msgid in msgids {
            let text =
                table
                    .and_then(|t| t.get(*msgid))
                    .ok_or_else(|| SpeechError::MissingText {
                        lang: lang.code(),
                        msgid: (*msgid).to_string(),
                    })?;
            parts.push(sentence(text));
        }
        Ok(parts.join(" "))
    }
}

/// `text` ending as a sentence, so the voice pauses between the screen's texts.
pub fn sentence(text: &str) -> String {
    let text = text.trim().trim_end_matches('…');
    if text.ends_with(['.', '?', '!', ':']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// What a prompt's file is made from (voice and text): hex SHA-256, the key of the manifest
/// and of the guide steps' cache.
pub fn text_hash(voice: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(voice.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    hex::encode(hasher.finalize())
}
