//! Spoken guidance: every screen's short prompt in kk, ru and en, made from the screens' own
//! translated texts with espeak-ng and played through GStreamer.
//!
//! `texts`: which texts each screen's prompt reads, from the `.po` files built into the
//! binary; `synth`: making prompts (`senim-kiosk prompts make`, the guide steps' cache);
//! `check`: `senim-kiosk prompts check`; `player`: playback, made on the first prompt.

pub mod check;
pub mod player;
pub mod synth;
pub mod texts;

use std::path::PathBuf;

pub use check::{check, measure, Measure, Row, Status};
pub use player::Player;
pub use synth::{make_screen_prompts, prompt_path, synthesize, StepCache};
pub use texts::{Texts, PROMPTS};

/// What can go wrong making, checking or playing prompts; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    #[error("the {lang} translation catalogue does not parse: {message} — fix the .po file")]
    Catalogue { lang: &'static str, message: String },
    #[error(
        "no prompt is defined for the screen `{0}` — add it to PROMPTS in src/speech/texts.rs"
    )]
    NoPrompt(String),
    #[error("the {lang} catalogue has no translation of {msgid:?} — add it to translations/{lang}/LC_MESSAGES/senim-kiosk.po")]
    MissingText { lang: &'static str, msgid: String },
    #[error("cannot run espeak-ng: {source} — install it (apt-get install espeak-ng)")]
    Synthesiser {
        #[source]
        source: std::io::Error,
    },
    #[error("espeak-ng failed with the voice `{voice}`: {message} — check `espeak-ng --voices`")]
    SynthesiserFailed {
        voice: &'static str,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message} — run `senim-kiosk prompts make` again")]
    Manifest { path: PathBuf, message: String },
    #[error("GStreamer: {0} — check the GStreamer plugins (base, good) are installed")]
    Media(String),
}
