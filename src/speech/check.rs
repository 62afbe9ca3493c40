//! `senim-kiosk prompts check`: every screen × language, its prompt's duration, and whether
//! one is missing, silent or made from a text that has changed since.

use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use senim_protocol::Lang;

use super::synth::{manifest_key, prompt_path, Manifest, VOICE};
use super::texts::{text_hash, Texts, LANGS, PROMPTS};
use super::SpeechError;

/// Decoded for measuring at this rate, mono.
const RATE: u64 = 16_000;
/// Below this peak (about −40 dBFS of 16-bit samples) a prompt counts as silent.
const SILENT_PEAK: i32 = 328;
/// Shorter than this a prompt counts as silent too (a click, an empty file).
const SHORTEST: Duration = Duration::from_millis(300);

/// What a prompt file holds, decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub duration: Duration,
    /// The loudest sample, 0..=32768.
    pub peak: i32,
}

impl Measure {
    pub fn silent(&self) -> bool {
        self.peak < SILENT_PEAK || self.duration < SHORTEST
    }
}

/// How one prompt stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Ok(Measure),
    Missing,
    Silent(Measure),
    /// Made from another text than the screen shows now: run `senim-kiosk prompts make`.
    Stale(Measure),
    /// The file does not decode.
    Broken(String),
}

/// One row of the check.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub screen: &'static str,
    pub lang: Lang,
    pub status: Status,
}

impl Row {
    pub fn ok(&self) -> bool {
        matches!(self.status, Status::Ok(_))
    }

    /// One line of the table: screen, language, duration, verdict.
    pub fn line(&self) -> String {
        let (seconds, verdict) = match &self.status {
            Status::Ok(m) => (secs(m), "ok".to_string()),
            Status::Missing => ("-".into(), "MISSING".into()),
            Status::Silent(m) => (secs(m), "SILENT".into()),
            Status::Stale(m) => (
                secs(m),
                "STALE (its text changed: run `senim-kiosk prompts make`)".into(),
            ),
            Status::Broken(e) => ("-".into(), format!("BROKEN ({e})")),
        };
        format!(
            "{:<24} {:<3} {:>7}  {verdict}",
            self.screen,
            self.lang.code(),
            seconds
        )
    }
}

fn secs(m: &Measure) -> String {
    format!("{:.1} s", m.duration.as_secs_f64())
}

/// Checks every screen × language under `dir`. The texts the prompts must say are the ones
/// built into this binary; a folder without a manifest has every prompt stale.
pub fn check(dir: &Path) -> Result<Vec<Row>, SpeechError> {
    let texts = Texts::built_in()?;
    let manifest = Manifest::read(dir).unwrap_or_default();
    let mut rows = Vec::new();
    for (screen, _) in PROMPTS {
        for lang in LANGS {
            let path = prompt_path(dir, screen, lang);
            let status = if !path.is_file() {
                Status::Missing
            } else {
                match measure(&path) {
                    Err(e) => Status::Broken(e.to_string()),
                    Ok(m) if m.silent() => Status::Silent(m),
                    Ok(m) => {
                        let want = text_hash(VOICE, &texts.prompt(screen, lang)?);
                        if manifest.prompts.get(&manifest_key(screen, lang)) == Some(&want) {
                            Status::Ok(m)
                        } else {
                            Status::Stale(m)
                        }
                    }
                }
            };
            rows.push(Row {
                screen,
                lang,
                status,
            });
        }
    }
    Ok(rows)
}

/// Decodes `path` to the end: its duration and its loudest sample.
pub fn measure(path: &Path) -> Result<Measure, SpeechError> {
    gst::init().map_err(|e| SpeechError::Media(e.to_string()))?;
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=src ! decodebin ! audioconvert ! audioresample \
         ! audio/x-raw,format=S16LE,channels=1,rate={RATE} \
         ! appsink name=sink sync=false"
    ))
    .map_err(|e| SpeechError::Media(format!("cannot build the decoder: {e}")))?;
    let bin = pipeline
        .downcast_ref::<gst::Bin>()
        .ok_or_else(|| SpeechError::Media("the decoder is not a bin".into()))?;
    if let Some(src) = bin.by_name("src") {
        src.set_property("location", path.to_string_lossy().as_ref());
    }
    let sink = bin
        .by_name("sink")
        .and_downcast::<gst_app::AppSink>()
        .ok_or_else(|| SpeechError::Media("the decoder has no sink".into()))?;
    let totals = std::sync::Arc::new(std::sync::Mutex::new((0u64, 0i32)));
    let seen = std::sync::Arc::clone(&totals);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                    let mut peak = 0i32;
                    let mut count = 0u64;
                    for pair in map.chunks_exact(2) {
                        let s = i32::from(i16::from_le_bytes([pair[0], pair[1]]));
                        peak = peak.max(s.abs());
                        count += 1;
                    }
                    if let Ok(mut t) = seen.lock() {
                        t.0 += count;
                        t.1 = t.1.max(peak);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    super::synth::run_to_end(&pipeline, "decoding a prompt")?;
    let (samples, peak) = *totals
        .lock()
        .map_err(|_| SpeechError::Media("the decoder's tally was poisoned".into()))?;
    Ok(Measure {
        duration: Duration::from_millis(samples * 1000 / RATE),
        peak,
    })
}
