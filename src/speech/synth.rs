//! Making prompts: espeak-ng speaks a text into a WAV file, GStreamer encodes it to Ogg Opus
//! (a tenth of the size), and `manifest.json` remembers which text each file was made from.
//! `senim-kiosk prompts make` makes the screens' prompts (at build time, `make prompts`); the
//! guide steps' prompts are made when a catalogue is loaded ([`StepCache`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gstreamer as gst;
use gstreamer::prelude::*;
use senim_protocol::Lang;
use serde::{Deserialize, Serialize};

use super::texts::{text_hash, Texts, LANGS, PROMPTS};
use super::SpeechError;

/// The synthesiser and its settings; part of every prompt's hash, so changing them remakes
/// the prompts.
pub const VOICE: &str = "espeak-ng -s 145";
/// espeak-ng's words per minute: a little slower than its 175, for elderly listeners.
const WORDS_PER_MINUTE: &str = "145";

/// The espeak-ng voice of each language.
pub fn espeak_voice(lang: Lang) -> &'static str {
    match lang {
        Lang::Kk => "kk",
        Lang::Ru => "ru",
        Lang::En => "en-gb",
    }
}

/// `manifest.json` beside the prompts: for each `lang/screen`, the hash of the text it was
/// made from.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub voice: String,
    pub prompts: BTreeMap<String, String>,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest, SpeechError> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|source| SpeechError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SpeechError::Manifest {
            path,
            message: e.to_string(),
        })
    }

    fn write(&self, dir: &Path) -> Result<(), SpeechError> {
        let path = dir.join("manifest.json");
        let mut text = serde_json::to_string_pretty(self).map_err(|e| SpeechError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|source| SpeechError::Io { path, source })
    }
}

/// The file of `screen`'s prompt in `lang` under the prompts folder.
pub fn prompt_path(dir: &Path, screen: &str, lang: Lang) -> PathBuf {
    dir.join(lang.code()).join(format!("{screen}.ogg"))
}

/// The key of a screen's prompt in the manifest.
pub fn manifest_key(screen: &str, lang: Lang) -> String {
    format!("{}/{screen}", lang.code())
}

/// What `make_screen_prompts` did.
#[derive(Debug, Default)]
pub struct MakeReport {
    pub made: usize,
    pub kept: usize,
}

/// Makes every screen's prompt in every language under `dir` whose text changed since it was
/// made (all with `force`), and writes the manifest.
pub fn make_screen_prompts(dir: &Path, force: bool) -> Result<MakeReport, SpeechError> {
    let texts = Texts::built_in()?;
    let old = Manifest::read(dir).unwrap_or_default();
    let mut manifest = Manifest {
        voice: VOICE.to_string(),
        prompts: BTreeMap::new(),
    };
    let mut report = MakeReport::default();
    for (screen, _) in PROMPTS {
        for lang in LANGS {
            let text = texts.prompt(screen, lang)?;
            let hash = text_hash(VOICE, &text);
            let key = manifest_key(screen, lang);
            let path = prompt_path(dir, screen, lang);
            if !force && old.prompts.get(&key) == Some(&hash) && path.is_file() {
                report.kept += 1;
            } else {
                synthesize(&text, lang, &path)?;
                report.made += 1;
            }
            manifest.prompts.insert(key, hash);
        }
    }
    manifest.write(dir)?;
    Ok(report)
}

/// Speaks `text` in `lang` into the Ogg Opus file `out` (made through a temporary file
/// beside it, so a half-made prompt is never played).
pub fn synthesize(text: &str, lang: Lang, out: &Path) -> Result<(), SpeechError> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|source| SpeechError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let wav = out.with_extension("wav.part");
    let output = Command::new("espeak-ng")
        .args(["-v", espeak_voice(lang), "-s", WORDS_PER_MINUTE, "-w"])
        .arg(&wav)
        .arg("--")
        .arg(text)
        .output()
        .map_err(|source| SpeechError::Synthesiser { source })?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&wav);
        return Err(SpeechError::SynthesiserFailed {
            voice: espeak_voice(lang),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    let part = out.with_extension("ogg.part");
    let encoded = encode(&wav, &part);
    let _ = std::fs::remove_file(&wav);
    encoded?;
    std::fs::rename(&part, out).map_err(|source| SpeechError::Io {
        path: out.to_path_buf(),
        source,
    })
}

/// WAV to Ogg Opus (mono, 24 kbit/s: speech stays clear, a prompt is 3 kB a second).
fn encode(wav: &Path, out: &Path) -> Result<(), SpeechError> {
    gst::init().map_err(|e| SpeechError::Media(e.to_string()))?;
    let pipeline = gst::parse::launch(
        "filesrc name=src ! wavparse ! audioconvert ! audioresample \
         ! audio/x-raw,channels=1,rate=24000 ! opusenc bitrate=24000 ! oggmux \
         ! filesink name=sink",
    )
    .map_err(|e| SpeechError::Media(format!("cannot build the encoder: {e}")))?;
    let bin = pipeline
        .downcast_ref::<gst::Bin>()
        .ok_or_else(|| SpeechError::Media("the encoder is not a bin".into()))?;
    if let Some(src) = bin.by_name("src") {
        src.set_property("location", wav.to_string_lossy().as_ref());
    }
    if let Some(sink) = bin.by_name("sink") {
        sink.set_property("location", out.to_string_lossy().as_ref());
    }
    run_to_end(&pipeline, "encoding a prompt")
}

/// Plays a pipeline to its end of stream; an error message on its bus fails it.
pub(super) fn run_to_end(pipeline: &gst::Element, what: &str) -> Result<(), SpeechError> {
    let fail = |m: String| SpeechError::Media(format!("{what}: {m}"));
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| fail(e.to_string()))?;
    let bus = pipeline
        .bus()
        .ok_or_else(|| fail("the pipeline has no bus".into()))?;
    let result = loop {
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) else {
            break Err(fail("no end after 60 s".into()));
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => break Err(fail(e.error().to_string())),
            _ => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The guide steps' prompts, made when a catalogue is loaded (catalogue texts are not in the
/// `.po` files) and kept in a cache folder by the hash of voice and text: a step whose text
/// did not change is not made again, a changed one gets a new file.
#[derive(Debug, Clone)]
pub struct StepCache {
    pub dir: PathBuf,
}

impl StepCache {
    /// The file of `text`'s prompt, whether made yet or not.
    pub fn path(&self, text: &str) -> PathBuf {
        self.dir
            .join(format!("{}.ogg", &text_hash(VOICE, text)[..32]))
    }

    /// Makes the prompts of `texts` (language, text) not in the cache yet; returns how many
    /// were made. Runs off the UI thread (espeak-ng takes tens of milliseconds a step).
    pub fn fill(&self, texts: &[(Lang, String)]) -> Result<usize, SpeechError> {
        let mut made = 0;
        for (lang, text) in texts {
            let path = self.path(text);
            if !path.is_file() {
                synthesize(text, *lang, &path)?;
                made += 1;
            }
        }
        Ok(made)
    }
}
