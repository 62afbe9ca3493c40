//! Review playback of a take: `playbin` with an RGB appsink for the screen and the configured
//! audio output (a silent one when it does not open, never the capture side).

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::graph::preview_size;
use super::pipeline::{forward_bus, frames_to, make, parse_failed, unforward_bus};
use super::{AudioOutput, CameraConfig, CameraError, FrameSource, Msg, Sink};

/// An audio output that is known to open, or a silent one (logged).
fn audio_output(cfg: &CameraConfig) -> Result<gst::Element, CameraError> {
    let (factory, name) = match cfg.audio_output {
        AudioOutput::Auto => ("autoaudiosink", "play-audio"),
        AudioOutput::Pulse => ("pulsesink", "play-audio"),
        AudioOutput::Alsa => ("alsasink", "play-audio"),
        AudioOutput::None => ("fakesink", "play-audio"),
    };
    let sink = make(factory, name)?;
    if cfg.audio_output == AudioOutput::None {
        sink.set_property("sync", true);
        return Ok(sink);
    }
    if sink.set_state(gst::State::Ready).is_err() {
        let _ = sink.set_state(gst::State::Null);
        tracing::warn!(
            output = factory,
            "review playback: the audio output does not open; playing without sound"
        );
        let fake = make("fakesink", "play-audio")?;
        fake.set_property("sync", true);
        return Ok(fake);
    }
    let _ = sink.set_state(gst::State::Null);
    Ok(sink)
}

/// Review playback of a take: `playbin` with an RGB appsink and the configured audio output.
pub(crate) struct Playback {
    pub id: u64,
    pub pipeline: gst::Pipeline,
    /// The take being played (to keep it out of log lines).
    pub file: std::path::PathBuf,
}

impl Playback {
    pub fn start(
        cfg: &CameraConfig,
        file: &std::path::Path,
        id: u64,
        sink: &Sink,
        tx: std::sync::mpsc::Sender<Msg>,
    ) -> Result<Playback, CameraError> {
        let file =
            std::path::absolute(file).map_err(CameraError::io("cannot resolve the take's path"))?;
        let uri = gst::glib::filename_to_uri(&file, None)
            .map_err(|e| CameraError::Media(format!("not a playable path: {e}")))?;
        let playbin = make("playbin", &format!("senim-play-{id}"))?;
        let (pw, _) = preview_size(cfg);
        let video = gst::parse::bin_from_description_with_name(
            &format!(
                "videoconvert name=play-convert ! videoscale name=play-scale \
                 ! video/x-raw,format=RGB,width={pw},pixel-aspect-ratio=1/1 \
                 ! appsink name=play-frames sync=true max-buffers=2 enable-last-sample=false"
            ),
            true,
            "play-video",
        )
        .map_err(|e| parse_failed("playback", e))?;
        if let Some(appsink) = video
            .by_name("play-frames")
            .and_downcast::<gst_app::AppSink>()
        {
            frames_to(&appsink, FrameSource::Playback, Arc::clone(sink), || {});
        }
        playbin.set_property("uri", uri.as_str());
        playbin.set_property("video-sink", &video);
        playbin.set_property("audio-sink", &audio_output(cfg)?);
        let pipeline = playbin
            .downcast::<gst::Pipeline>()
            .map_err(|_| CameraError::Init("playbin is not a pipeline".into()))?;
        let _ = forward_bus(&pipeline, id, tx);
        if pipeline.set_state(gst::State::Playing).is_err() {
            let _ = pipeline.set_state(gst::State::Null);
            unforward_bus(&pipeline);
            return Err(CameraError::Media("the take cannot be played".into()));
        }
        Ok(Playback { id, pipeline, file })
    }

    pub fn stop(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        unforward_bus(&self.pipeline);
    }
}
