//! The call's GStreamer graph: the sending side as a `gst-launch` description (capture →
//! VP8/Opus → RTP → `webrtcbin`), the receiving branches added when the operator's streams
//! arrive, and the copy of a decoded picture into a frame for the UI.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{CallError, CallEvent, Counters, RemoteFrame, Sink};
use crate::devices::camera::{AudioOutput, AudioSource, CameraConfig, VideoFormat, VideoSource};

/// The `webrtcbin` element's name in the pipeline.
pub(crate) const WEBRTC: &str = "call-webrtc";
/// RTP payload types we offer (dynamic range; the browser answers with the same).
pub(crate) const VP8_PT: u32 = 96;
pub(crate) const OPUS_PT: u32 = 97;
/// Seconds between VP8 keyframes: a browser that lost one recovers within this even if its
/// picture-loss requests go unanswered.
const KEYFRAME_SECS: u32 = 2;
/// Jitter buffer of the received streams, in ms (webrtcbin's default is 200).
const LATENCY_MS: u32 = 100;

/// Every element a call needs, with the Debian package that ships it.
fn needed_elements(cfg: &CameraConfig) -> Vec<(&'static str, &'static str)> {
    const BASE: &str = "gstreamer1.0-plugins-base";
    const GOOD: &str = "gstreamer1.0-plugins-good";
    const BAD: &str = "gstreamer1.0-plugins-bad";
    const CORE: &str = "libgstreamer1.0-0";
    let mut v = vec![
        ("webrtcbin", BAD),
        ("nicesrc", "gstreamer1.0-nice"),
        ("nicesink", "gstreamer1.0-nice"),
        ("dtlssrtpenc", BAD),
        ("dtlssrtpdec", BAD),
        ("srtpenc", BAD),
        ("rtpbin", GOOD),
        ("queue", CORE),
        ("fakesink", CORE),
        ("appsink", BASE),
        ("rtpvp8pay", GOOD),
        ("rtpvp8depay", GOOD),
        ("vp8enc", GOOD),
        ("vp8dec", GOOD),
        ("videoconvert", BASE),
        ("rtpopuspay", GOOD),
        ("rtpopusdepay", GOOD),
        ("opusenc", BASE),
        ("opusdec", BASE),
        ("audioconvert", BASE),
        ("audioresample", BASE),
    ];
    match (cfg.video, cfg.video_format) {
        (VideoSource::V4l2, VideoFormat::Mjpeg) => v.extend([("v4l2src", GOOD), ("jpegdec", GOOD)]),
        (VideoSource::V4l2, VideoFormat::Raw) => v.push(("v4l2src", GOOD)),
        (VideoSource::Test, _) => v.push(("videotestsrc", BASE)),
        (VideoSource::None, _) => {}
    }
    match cfg.audio {
        AudioSource::Pulse => v.push(("pulsesrc", "gstreamer1.0-pulseaudio")),
        AudioSource::Alsa => v.push(("alsasrc", "gstreamer1.0-alsa")),
        AudioSource::Test => v.push(("audiotestsrc", BASE)),
        AudioSource::None => {}
    }
    match cfg.audio_output {
        AudioOutput::Auto => v.push(("autoaudiosink", GOOD)),
        AudioOutput::Pulse => v.push(("pulsesink", "gstreamer1.0-pulseaudio")),
        AudioOutput::Alsa => v.push(("alsasink", "gstreamer1.0-alsa")),
        AudioOutput::None => {}
    }
    v
}

/// Starts GStreamer and refuses to go on when an element the call needs is not installed.
pub(crate) fn init(cfg: &CameraConfig) -> Result<(), CallError> {
    gst::init().map_err(|e| CallError::Init(e.to_string()))?;
    for (element, package) in needed_elements(cfg) {
        if gst::ElementFactory::find(element).is_none() {
            return Err(CallError::MissingElement { element, package });
        }
    }
    Ok(())
}

/// The sending side and `webrtcbin`, in `gst-launch` syntax. Device names are set as
/// properties afterwards, never written into the description.
pub(crate) fn send_desc(cfg: &CameraConfig) -> String {
    let (w, h, f) = (cfg.width, cfg.height, cfg.fps);
    let mut d = format!("webrtcbin name={WEBRTC} bundle-policy=max-bundle latency={LATENCY_MS}");
    if cfg.has_video() {
        let source = match (cfg.video, cfg.video_format) {
            (VideoSource::V4l2, VideoFormat::Mjpeg) => format!(
                "v4l2src name=video-src ! image/jpeg,width={w},height={h},framerate={f}/1 \
                 ! jpegdec name=video-jpegdec"
            ),
            (VideoSource::V4l2, _) => {
                format!("v4l2src name=video-src ! video/x-raw,width={w},height={h},framerate={f}/1")
            }
            _ => format!(
                "videotestsrc name=video-src is-live=true pattern=smpte horizontal-speed=2 \
                 ! video/x-raw,format=YUY2,width={w},height={h},framerate={f}/1"
            ),
        };
        // Realtime VP8 as the recorder's, plus: error-resilient for a lossy network, and a
        // keyframe every KEYFRAME_SECS.
        d.push_str(&format!(
            " {source} ! queue name=video-queue max-size-buffers=2 max-size-bytes=0 \
             max-size-time=0 leaky=downstream ! videoconvert name=video-convert \
             ! vp8enc name=video-enc deadline=1 end-usage=cbr target-bitrate={} threads=1 \
             lag-in-frames=0 keyframe-max-dist={} error-resilient=default cpu-used=4 \
             ! rtpvp8pay name=video-pay pt={VP8_PT} picture-id-mode=15-bit \
             ! application/x-rtp,media=video,encoding-name=VP8,payload={VP8_PT},clock-rate=90000 \
             ! {WEBRTC}.",
            cfg.video_kbps * 1000,
            f * KEYFRAME_SECS,
        ));
    }
    if cfg.has_audio() {
        let source = match cfg.audio {
            AudioSource::Pulse => {
                "pulsesrc name=audio-src client-name=senim-kiosk-call".to_string()
            }
            AudioSource::Alsa => "alsasrc name=audio-src".to_string(),
            _ => "audiotestsrc name=audio-src is-live=true wave=sine freq=220 volume=0.1".into(),
        };
        d.push_str(&format!(
            " {source} ! audioconvert name=audio-convert ! audioresample name=audio-resample \
             ! audio/x-raw,format=S16LE,rate=48000,channels=1 \
             ! queue name=audio-queue max-size-buffers=0 max-size-bytes=0 \
             max-size-time=200000000 leaky=downstream \
             ! opusenc name=audio-enc bitrate={} audio-type=voice frame-size=20 \
             ! rtpopuspay name=audio-pay pt={OPUS_PT} \
             ! application/x-rtp,media=audio,encoding-name=OPUS,payload={OPUS_PT},clock-rate=48000 \
             ! {WEBRTC}.",
            cfg.audio_kbps * 1000,
        ));
    }
    d
}

/// Builds the sending pipeline (not started): device properties set, the encoder's output
/// counted.
pub(crate) fn build(
    cfg: &CameraConfig,
    counters: &Arc<Counters>,
) -> Result<(gst::Pipeline, gst::Element), CallError> {
    let pipeline = gst::parse::launch(&send_desc(cfg))
        .map_err(|e| CallError::Init(format!("cannot build the call pipeline: {e}")))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| CallError::Init("the call description is not a pipeline".into()))?;
    pipeline.set_property("name", "senim-call");
    if cfg.video == VideoSource::V4l2 {
        if let Some(src) = pipeline.by_name("video-src") {
            src.set_property("device", cfg.video_device.to_string_lossy().as_ref());
        }
    }
    if cfg.has_audio() && cfg.audio != AudioSource::Test && !cfg.audio_device.is_empty() {
        if let Some(src) = pipeline.by_name("audio-src") {
            src.set_property("device", cfg.audio_device.as_str());
        }
    }
    if let Some(pad) = pipeline
        .by_name("video-enc")
        .and_then(|e| e.static_pad("src"))
    {
        let counters = Arc::clone(counters);
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counters.frames_sent.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
    let webrtc = pipeline
        .by_name(WEBRTC)
        .ok_or_else(|| CallError::Init("webrtcbin is missing from the call pipeline".into()))?;
    Ok((pipeline, webrtc))
}

/// A sink that plays nothing (and only counts, through the packet counter upstream).
const SILENT_SINK: &str = "fakesink name=remote-audio-sink sync=false async=false";

/// The sink for the operator's voice: `camera.audio_output` if it opens now, else (or for
/// `none`) a silent one. A kiosk without a working loudspeaker still shows the operator and
/// sends its own picture and sound; the fault is logged.
pub(crate) fn audio_sink_desc(cfg: &CameraConfig) -> &'static str {
    let (factory, desc) = match cfg.audio_output {
        AudioOutput::Auto => ("autoaudiosink", "autoaudiosink name=remote-audio-sink"),
        AudioOutput::Pulse => (
            "pulsesink",
            "pulsesink name=remote-audio-sink client-name=senim-kiosk-call",
        ),
        AudioOutput::Alsa => ("alsasink", "alsasink name=remote-audio-sink"),
        AudioOutput::None => return SILENT_SINK,
    };
    let opens = gst::ElementFactory::make(factory)
        .build()
        .is_ok_and(|sink| {
            let ok = sink.set_state(gst::State::Ready).is_ok();
            let _ = sink.set_state(gst::State::Null);
            ok
        });
    if opens {
        desc
    } else {
        tracing::warn!(
            output = factory,
            "the loudspeaker does not open: the operator's voice is not played in this call"
        );
        SILENT_SINK
    }
}

/// Which of the operator's streams a `webrtcbin` source pad carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Remote {
    Video,
    Audio,
}

/// Links a new `webrtcbin` source pad (the operator's video or voice, as RTP) to a decoding
/// branch, counting its packets. Runs on a streaming thread.
pub(crate) fn link_remote(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    cfg: &CameraConfig,
    counters: &Arc<Counters>,
    sink: &Sink,
) -> Result<Remote, CallError> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let s = caps
        .structure(0)
        .ok_or_else(|| CallError::Init("a remote stream without caps".into()))?;
    let media = s.get::<&str>("media").unwrap_or_default();
    let encoding = s
        .get::<&str>("encoding-name")
        .unwrap_or_default()
        .to_ascii_uppercase();
    let (kind, desc) = match (media, encoding.as_str()) {
        ("video", "VP8") => (
            Remote::Video,
            "queue name=remote-video-queue ! rtpvp8depay request-keyframe=true \
             wait-for-keyframe=true ! vp8dec name=remote-video-dec threads=2 \
             ! queue name=remote-video-frames max-size-buffers=2 max-size-bytes=0 \
             max-size-time=0 leaky=downstream ! videoconvert ! video/x-raw,format=RGB \
             ! appsink name=remote-video-sink sync=false async=false drop=true max-buffers=1 \
             enable-last-sample=false"
                .to_string(),
        ),
        ("audio", "OPUS") => (
            Remote::Audio,
            format!(
                "queue name=remote-audio-queue ! rtpopusdepay ! opusdec plc=true \
                 ! audioconvert ! audioresample ! {}",
                audio_sink_desc(cfg)
            ),
        ),
        _ => {
            return Err(CallError::Negotiation {
                what: "a remote stream",
                reason: format!("{media} {encoding} was not offered"),
            })
        }
    };
    let bin = gst::parse::bin_from_description(&desc, true)
        .map_err(|e| CallError::Init(format!("cannot build the receiving branch: {e}")))?;
    pipeline
        .add(&bin)
        .map_err(|e| CallError::Init(format!("cannot add the receiving branch: {e}")))?;
    if kind == Remote::Video {
        if let Some(dec_src) = bin
            .by_name("remote-video-dec")
            .and_then(|d| d.static_pad("src"))
        {
            let counters = Arc::clone(counters);
            dec_src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                counters
                    .remote_frames_received
                    .fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
        if let Some(appsink) = bin
            .by_name("remote-video-sink")
            .and_downcast::<gst_app::AppSink>()
        {
            let counters = Arc::clone(counters);
            let sink = Arc::clone(sink);
            appsink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |appsink| {
                        let sample = appsink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        if let Some(frame) = rgb_frame(&sample) {
                            counters.remote_frames_drawn.fetch_add(1, Ordering::Relaxed);
                            sink(CallEvent::RemoteFrame(frame));
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
    }
    let counters = Arc::clone(counters);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        let n = match kind {
            Remote::Video => &counters.video_packets_received,
            Remote::Audio => &counters.audio_packets_received,
        };
        n.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
    let bin_sink = bin
        .static_pad("sink")
        .ok_or_else(|| CallError::Init("the receiving branch has no input".into()))?;
    bin.sync_state_with_parent()
        .map_err(|e| CallError::Init(format!("cannot start the receiving branch: {e}")))?;
    pad.link(&bin_sink)
        .map_err(|e| CallError::Init(format!("cannot link the remote stream: {e:?}")))?;
    Ok(kind)
}

/// The operator's picture for the UI (rows unpadded, as the camera's preview).
fn rgb_frame(sample: &gst::Sample) -> Option<RemoteFrame> {
    crate::devices::camera::rgb_pixels(sample).map(|pixels| RemoteFrame { pixels })
}

/// A short, technical, person-free reason for a GStreamer error message, and which device it
/// concerns (`camera`, `microphone`, or `call` for the rest).
pub(crate) fn error_reason(msg: &gst::Message) -> (&'static str, String) {
    let gst::MessageView::Error(err) = msg.view() else {
        return ("call", "unknown error".into());
    };
    let mut device = "call";
    let mut cur = msg.src().cloned();
    while let Some(obj) = cur {
        let name = obj.name();
        if name.starts_with("video-") {
            device = "camera";
            break;
        }
        if name.starts_with("audio-") {
            device = "microphone";
            break;
        }
        cur = obj.parent();
    }
    let who = msg
        .src()
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| "pipeline".into());
    (
        device,
        format!("{who}: {}", err.error().message().trim_end_matches('.')),
    )
}
