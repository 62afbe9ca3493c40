//! Playing prompts: a `playbin` made on the first "listen" (nothing at start-up), one file
//! after another without a gap (`about-to-finish`), at the citizen's volume, to the kiosk's
//! loudspeaker (`[camera] audio_output`, silent when it does not open).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::SpeechError;
use crate::devices::camera::AudioOutput;

/// Plays prompts; lives on the UI thread.
pub struct Player {
    output: AudioOutput,
    volume: u8,
    next_id: u64,
    playing: Option<Playing>,
}

struct Playing {
    id: u64,
    pipeline: gst::Element,
    /// Tells the bus watcher to give up (the prompt was stopped).
    stopped: Arc<AtomicBool>,
}

impl Player {
    /// A player that has made nothing yet.
    pub fn new(output: AudioOutput, volume: u8) -> Player {
        Player {
            output,
            volume: volume.min(100),
            next_id: 1,
            playing: None,
        }
    }

    /// The prompt playing now, if any.
    pub fn current(&self) -> Option<u64> {
        self.playing.as_ref().map(|p| p.id)
    }

    /// Whether a pipeline exists (for the bench and tests: none before the first prompt).
    pub fn loaded(&self) -> bool {
        self.playing.is_some()
    }

    pub fn set_volume(&mut self, percent: u8) {
        self.volume = percent.min(100);
        if let Some(p) = &self.playing {
            p.pipeline.set_property("volume", volume_of(self.volume));
        }
    }

    /// Stops what plays and plays `files` one after another; `ended(id)` is called from
    /// another thread when the last one is over or playback failed.
    pub fn play(
        &mut self,
        files: Vec<PathBuf>,
        ended: impl Fn(u64) + Send + 'static,
    ) -> Result<u64, SpeechError> {
        self.stop();
        let mut uris = VecDeque::new();
        for file in files {
            let file = std::path::absolute(&file).map_err(|source| SpeechError::Io {
                path: file.clone(),
                source,
            })?;
            let uri = gst::glib::filename_to_uri(&file, None)
                .map_err(|e| SpeechError::Media(format!("not a playable path: {e}")))?;
            uris.push_back(uri.to_string());
        }
        let Some(first) = uris.pop_front() else {
            return Err(SpeechError::Media("nothing to play".into()));
        };
        gst::init().map_err(|e| SpeechError::Media(e.to_string()))?;
        let playbin = gst::ElementFactory::make("playbin")
            .name("senim-prompt")
            .build()
            .map_err(|e| SpeechError::Media(format!("no playbin: {e}")))?;
        // Audio only: a prompt never opens a video sink.
        playbin.set_property_from_str("flags", "audio");
        playbin.set_property("uri", first.as_str());
        playbin.set_property("volume", volume_of(self.volume));
        playbin.set_property("audio-sink", &audio_sink(self.output)?);
        let rest = Arc::new(Mutex::new(uris));
        playbin.connect("about-to-finish", false, move |args| {
            let next = rest.lock().ok().and_then(|mut r| r.pop_front());
            if let (Some(uri), Some(bin)) = (
                next,
                args.first().and_then(|a| a.get::<gst::Element>().ok()),
            ) {
                bin.set_property("uri", uri.as_str());
            }
            None
        });
        let id = self.next_id;
        self.next_id += 1;
        let stopped = Arc::new(AtomicBool::new(false));
        let bus = playbin
            .bus()
            .ok_or_else(|| SpeechError::Media("playbin has no bus".into()))?;
        playbin
            .set_state(gst::State::Playing)
            .map_err(|e| SpeechError::Media(format!("the prompt does not play: {e}")))?;
        let watch = Arc::clone(&stopped);
        std::thread::Builder::new()
            .name("senim-prompt".into())
            .spawn(move || {
                while !watch.load(Ordering::Relaxed) {
                    let Some(msg) = bus.timed_pop_filtered(
                        gst::ClockTime::from_mseconds(200),
                        &[gst::MessageType::Eos, gst::MessageType::Error],
                    ) else {
                        continue;
                    };
                    if let gst::MessageView::Error(e) = msg.view() {
                        tracing::warn!(error = %e.error(), "a prompt failed to play");
                    }
                    ended(id);
                    break;
                }
            })
            .map_err(|source| SpeechError::Io {
                path: PathBuf::from("senim-prompt thread"),
                source,
            })?;
        self.playing = Some(Playing {
            id,
            pipeline: playbin,
            stopped,
        });
        Ok(id)
    }

    /// Waits at most `timeout` until the prompt is heard (its pipeline is PLAYING); for the
    /// bench's "listen → playing".
    pub fn wait_playing(&self, timeout: std::time::Duration) -> bool {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.playing.as_ref().is_some_and(|p| {
            matches!(
                p.pipeline.state(gst::ClockTime::from_nseconds(nanos)),
                (Ok(_), gst::State::Playing, _)
            )
        })
    }

    /// Stops the prompt playing, if any, and frees its pipeline.
    pub fn stop(&mut self) {
        if let Some(p) = self.playing.take() {
            p.stopped.store(true, Ordering::Relaxed);
            let _ = p.pipeline.set_state(gst::State::Null);
        }
    }

    /// The prompt `id` is over: its pipeline goes (if it is still the one playing).
    pub fn finished(&mut self, id: u64) -> bool {
        if self.current() == Some(id) {
            self.stop();
            true
        } else {
            false
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop();
    }
}

/// playbin's volume is linear (1.0 = as recorded); the citizen's steps are heard as even
/// steps on a cubic curve.
fn volume_of(percent: u8) -> f64 {
    let v = f64::from(percent) / 100.0;
    v * v * v
}

/// The loudspeaker, or a silent sink that keeps time when it does not open (no sound card).
fn audio_sink(output: AudioOutput) -> Result<gst::Element, SpeechError> {
    let factory = match output {
        AudioOutput::Auto => "autoaudiosink",
        AudioOutput::Pulse => "pulsesink",
        AudioOutput::Alsa => "alsasink",
        AudioOutput::None => "fakesink",
    };
    let make = |f: &str| {
        gst::ElementFactory::make(f)
            .name("prompt-audio")
            .build()
            .map_err(|e| SpeechError::Media(format!("no {f}: {e}")))
    };
    let sink = make(factory)?;
    if output != AudioOutput::None && sink.set_state(gst::State::Ready).is_ok() {
        let _ = sink.set_state(gst::State::Null);
        return Ok(sink);
    }
    let _ = sink.set_state(gst::State::Null);
    if output != AudioOutput::None {
        tracing::warn!(
            output = factory,
            "the loudspeaker does not open; prompts play silently"
        );
    }
    let fake = make("fakesink")?;
    fake.set_property("sync", true);
    Ok(fake)
}
