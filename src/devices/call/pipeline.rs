//! The call's GStreamer graph: the sending side as a `gst-launch` description (capture →
//! VP8/Opus → RTP → `webrtcbin`), the receiving branches added when the operator's streams
//! arrive, and the copy of a decoded picture into a frame for the UI.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{CallError, CallEvent, Counters, RemoteFrame, Sink};
use crate::devices::camera::{
    AudioOutput, AudioSource, CameraConfig, VideoFormat, VideoSource, CALL_VIDEO_TEE,
};

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
        ("audiomixer", BASE),
        ("volume", BASE),
        ("tee", CORE),
        ("identity", CORE),
    ];
    match (cfg.video, cfg.video_format) {
        (VideoSource::V4l2, VideoFormat::Mjpeg) => v.extend([("v4l2src", GOOD), ("jpegdec", GOOD)]),
        (VideoSource::V4l2, VideoFormat::Raw) => v.push(("v4l2src", GOOD)),
        (VideoSource::Test, _) => v.push(("videotestsrc", BASE)),
        (VideoSource::None | VideoSource::Auto, _) => {}
    }
    match cfg.audio {
        AudioSource::Pulse => v.push(("pulsesrc", "gstreamer1.0-pulseaudio")),
        AudioSource::Alsa => v.push(("alsasrc", "gstreamer1.0-alsa")),
        AudioSource::Test => v.push(("audiotestsrc", BASE)),
        AudioSource::None | AudioSource::Auto => {}
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

/// The encoder's element name (its output is counted as frames sent; the congestion control
/// sets its bit rate).
pub(crate) const VIDEO_ENC: &str = "call-video-enc";
/// The element that sets how loud the operator's voice plays.
pub(crate) const VOLUME: &str = "call-volume";
/// The mixer of both voices, for the take of a call that shares the camera's capture.
const MIX: &str = "call-mix";
/// Mono 48 kHz, as the camera's microphone branch and the recorder use.
const VOICE_CAPS: &str = "audio/x-raw,format=S16LE,rate=48000,channels=1";

/// The picture's way from `call-video-in` to `webrtcbin`: realtime VP8 as the recorder's,
/// plus error-resilient for a lossy network and a keyframe every [`KEYFRAME_SECS`]. With
/// `record`, the encoded picture also goes to [`CALL_VIDEO_TEE`], where a take of the call
/// records it (one encoder for both). The frame rate is capped by [`limit_frame_rate`].
fn video_chain(cfg: &CameraConfig, record: bool) -> String {
    let tee = if record {
        format!(
            "tee name={CALL_VIDEO_TEE} allow-not-linked=true ! queue name=call-video-send \
             max-size-buffers=0 max-size-bytes=0 max-size-time=500000000 leaky=downstream ! "
        )
    } else {
        String::new()
    };
    format!(
        "queue name=call-video-in max-size-buffers=2 max-size-bytes=0 max-size-time=0 \
         leaky=downstream ! videoconvert name=call-video-convert \
         ! vp8enc name={VIDEO_ENC} deadline=1 end-usage=cbr target-bitrate={} threads=1 \
         lag-in-frames=0 keyframe-max-dist={} error-resilient=default cpu-used=4 \
         ! {tee}rtpvp8pay name=call-video-pay pt={VP8_PT} picture-id-mode=15-bit \
         ! application/x-rtp,media=video,encoding-name=VP8,payload={VP8_PT},clock-rate=90000 \
         ! {WEBRTC}.",
        cfg.video_kbps * 1000,
        cfg.fps * KEYFRAME_SECS,
    )
}

/// Drops pictures before the encoder so that at most `counters.fps_cap` a second are sent
/// (0: no cap). A pad probe rather than `videorate`: the caps (and a take's file) keep the
/// camera's frame rate while the congestion control changes the cap.
fn limit_frame_rate(bin: &gst::Bin, counters: &Arc<Counters>) {
    if let Some(pad) = bin
        .by_name("call-video-in")
        .and_then(|q| q.static_pad("src"))
    {
        let counters = Arc::clone(counters);
        cap_frame_rate(&pad, move || counters.fps_cap.load(Ordering::Relaxed));
    }
}

/// A pad probe passing at most `fps()` buffers a second (0: all), by their timestamps. Not
/// `videorate`: it changes caps, and on the operator's stream (variable frame rate, `0/1`)
/// GStreamer 1.22's `videorate max-rate` aborts the process on a buffer without duration.
fn cap_frame_rate(pad: &gst::Pad, fps: impl Fn() -> u32 + Send + Sync + 'static) {
    let last_kept = std::sync::atomic::AtomicU64::new(u64::MAX);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let fps = u64::from(fps());
        let Some(pts) = info.buffer().and_then(|b| b.pts()).map(|t| t.nseconds()) else {
            return gst::PadProbeReturn::Ok;
        };
        let last = last_kept.load(Ordering::Relaxed);
        // 0.9 of the interval: timestamps jitter, and 30 → 15 must keep every other.
        let due = fps == 0 || last == u64::MAX || pts >= last.saturating_add(900_000_000 / fps);
        if due || pts < last {
            last_kept.store(pts, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        } else {
            gst::PadProbeReturn::Drop
        }
    });
}

/// The voice's way from `call-audio-in` (mono 48 kHz) to `webrtcbin`; with `mix`, also into
/// the mixer whose output (`call-mix-tee`) a take records, so the recording holds both voices.
fn audio_chain(cfg: &CameraConfig, mix: bool) -> String {
    let send = format!(
        "queue name=call-audio-send max-size-buffers=0 max-size-bytes=0 \
         max-size-time=200000000 leaky=downstream \
         ! opusenc name=call-audio-enc bitrate={} audio-type=voice frame-size=20 \
         ! rtpopuspay name=call-audio-pay pt={OPUS_PT} \
         ! application/x-rtp,media=audio,encoding-name=OPUS,payload={OPUS_PT},clock-rate=48000 \
         ! {WEBRTC}.",
        cfg.audio_kbps * 1000,
    );
    if !mix {
        return format!("queue name=call-audio-in max-size-buffers=0 max-size-bytes=0 max-size-time=200000000 leaky=downstream ! {send}");
    }
    format!(
        "queue name=call-audio-in max-size-buffers=0 max-size-bytes=0 max-size-time=200000000 \
         leaky=downstream ! tee name=call-mic-tee \
         call-mic-tee. ! {send} \
         call-mic-tee. ! queue name=call-mic-mix max-size-buffers=0 max-size-bytes=0 \
         max-size-time=200000000 leaky=downstream ! {MIX}. \
         audiomixer name={MIX} start-time-selection=first ! {VOICE_CAPS} \
         ! tee name={} allow-not-linked=true",
        crate::devices::camera::CALL_MIX_TEE
    )
}

fn webrtc_desc() -> String {
    format!("webrtcbin name={WEBRTC} bundle-policy=max-bundle latency={LATENCY_MS}")
}

/// The sending side and `webrtcbin` with devices of its own, in `gst-launch` syntax (the
/// technician's `senim-kiosk call`, and tests). Device names are set as properties afterwards,
/// never written into the description.
pub(crate) fn send_desc(cfg: &CameraConfig) -> String {
    let (w, h, f) = (cfg.width, cfg.height, cfg.fps);
    let mut d = webrtc_desc();
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
        d.push_str(&format!(" {source} ! {}", video_chain(cfg, false)));
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
             ! {VOICE_CAPS} ! {}",
            audio_chain(cfg, false)
        ));
    }
    d
}

/// The call's branch for the camera's shared capture, in `gst-launch` syntax: fed by the
/// camera's tees through the ghost pads `video` and `audio` (see [`build_shared`]).
pub(crate) fn shared_desc(cfg: &CameraConfig, video: bool, audio: bool) -> String {
    let mut d = webrtc_desc();
    if video {
        d.push_str(&format!(" {}", video_chain(cfg, true)));
    }
    if audio {
        d.push_str(&format!(" {}", audio_chain(cfg, true)));
    }
    d
}

/// Counts the encoder's output as frames sent.
fn count_frames_sent(bin: &gst::Bin, counters: &Arc<Counters>) {
    if let Some(pad) = bin.by_name(VIDEO_ENC).and_then(|e| e.static_pad("src")) {
        let counters = Arc::clone(counters);
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counters.frames_sent.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    }
}

/// Builds the sending pipeline with devices of its own (not started): device properties set,
/// the encoder's output counted.
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
    count_frames_sent(pipeline.upcast_ref(), counters);
    limit_frame_rate(pipeline.upcast_ref(), counters);
    let webrtc = pipeline
        .by_name(WEBRTC)
        .ok_or_else(|| CallError::Init("webrtcbin is missing from the call pipeline".into()))?;
    Ok((pipeline, webrtc))
}

/// The call's branch on the camera's capture (not yet added): a bin named `call` with ghost
/// sink pads `video` and/or `audio` for the camera's tees.
pub(crate) fn build_shared(
    cfg: &CameraConfig,
    video: bool,
    audio: bool,
    counters: &Arc<Counters>,
) -> Result<(gst::Bin, gst::Element), CallError> {
    let bin =
        gst::parse::bin_from_description_with_name(&shared_desc(cfg, video, audio), false, "call")
            .map_err(|e| CallError::Init(format!("cannot build the call branch: {e}")))?;
    for (wanted, queue, ghost) in [
        (video, "call-video-in", "video"),
        (audio, "call-audio-in", "audio"),
    ] {
        if !wanted {
            continue;
        }
        let target = bin
            .by_name(queue)
            .and_then(|q| q.static_pad("sink"))
            .ok_or_else(|| CallError::Init(format!("the call branch lacks {queue}")))?;
        let pad = gst::GhostPad::builder_with_target(&target)
            .map_err(|e| CallError::Init(e.to_string()))?
            .name(ghost)
            .build();
        bin.add_pad(&pad)
            .map_err(|e| CallError::Init(e.to_string()))?;
    }
    count_frames_sent(&bin, counters);
    limit_frame_rate(&bin, counters);
    let webrtc = bin
        .by_name(WEBRTC)
        .ok_or_else(|| CallError::Init("webrtcbin is missing from the call branch".into()))?;
    Ok((bin, webrtc))
}

/// A sink that plays nothing (and only counts, through the packet counter upstream).
const SILENT_SINK: &str = "fakesink name=call-remote-audio-sink sync=false async=false";

/// The sink for the operator's voice: `camera.audio_output` if it opens now, else (or for
/// `none`) a silent one. A kiosk without a working loudspeaker still shows the operator and
/// sends its own picture and sound; the fault is logged.
pub(crate) fn audio_sink_desc(cfg: &CameraConfig) -> &'static str {
    let (factory, desc) = match cfg.audio_output {
        AudioOutput::Auto => ("autoaudiosink", "autoaudiosink name=call-remote-audio-sink"),
        AudioOutput::Pulse => (
            "pulsesink",
            "pulsesink name=call-remote-audio-sink client-name=senim-kiosk-call",
        ),
        AudioOutput::Alsa => ("alsasink", "alsasink name=call-remote-audio-sink"),
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

/// The operator's picture is drawn at most this often (as the camera's preview): converting and
/// uploading more frames to the UI costs CPU nobody sees.
const REMOTE_FPS: u32 = 15;

/// What the receiving branches share with the engine.
pub(crate) struct RemoteSettings {
    pub counters: Arc<Counters>,
    pub sink: Sink,
    /// How loud the operator's voice plays, in percent (100: as received).
    pub volume: Arc<std::sync::atomic::AtomicU8>,
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
    container: &gst::Bin,
    pad: &gst::Pad,
    cfg: &CameraConfig,
    remote: &RemoteSettings,
) -> Result<Remote, CallError> {
    let RemoteSettings {
        counters,
        sink,
        volume,
    } = remote;
    let mix = container.by_name(MIX);
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
            "queue name=call-remote-video-queue ! rtpvp8depay name=call-remote-video-depay \
             request-keyframe=true wait-for-keyframe=true \
             ! vp8dec name=call-remote-video-dec threads=2 \
             ! queue name=call-remote-video-frames max-size-buffers=2 max-size-bytes=0 \
             max-size-time=0 leaky=downstream ! videoconvert name=call-remote-video-convert \
             ! video/x-raw,format=RGB \
             ! appsink name=call-remote-video-sink sync=false async=false drop=true \
             max-buffers=1 enable-last-sample=false"
                .to_string(),
        ),
        ("audio", "OPUS") => (Remote::Audio, {
            let play = format!(
                "volume name={VOLUME} volume={} ! {}",
                f64::from(volume.load(Ordering::Relaxed)) / 100.0,
                audio_sink_desc(cfg)
            );
            let decode = "queue name=call-remote-audio-queue \
                     ! rtpopusdepay name=call-remote-audio-depay \
                     ! opusdec name=call-remote-audio-dec plc=true \
                     ! audioconvert name=call-remote-audio-convert \
                     ! audioresample name=call-remote-audio-resample";
            if mix.is_some() {
                // The operator's voice also goes to the mixer, for the take.
                format!(
                    "{decode} ! tee name=call-remote-audio-tee \
                         call-remote-audio-tee. ! queue name=call-remote-audio-play ! {play} \
                         call-remote-audio-tee. ! queue name=call-remote-audio-mix \
                         max-size-buffers=0 max-size-bytes=0 max-size-time=200000000 \
                         leaky=downstream ! audioconvert name=call-remote-mix-convert \
                         ! audioresample name=call-remote-mix-resample ! {VOICE_CAPS} \
                         ! identity name=call-remote-mix-out"
                )
            } else {
                format!("{decode} ! {play}")
            }
        }),
        _ => {
            return Err(CallError::Negotiation {
                what: "a remote stream",
                reason: format!("{media} {encoding} was not offered"),
            })
        }
    };
    let bin = gst::parse::bin_from_description(&desc, true)
        .map_err(|e| CallError::Init(format!("cannot build the receiving branch: {e}")))?;
    container
        .add(&bin)
        .map_err(|e| CallError::Init(format!("cannot add the receiving branch: {e}")))?;
    if kind == Remote::Video {
        if let Some(dec_src) = bin
            .by_name("call-remote-video-dec")
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
        if let Some(pad) = bin
            .by_name("call-remote-video-frames")
            .and_then(|q| q.static_pad("src"))
        {
            cap_frame_rate(&pad, || REMOTE_FPS);
        }
        if let Some(appsink) = bin
            .by_name("call-remote-video-sink")
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
    if let (Remote::Audio, Some(mix), Some(out)) = (kind, &mix, bin.static_pad("src")) {
        let linked = mix
            .request_pad_simple("sink_%u")
            .is_some_and(|mix_pad| out.link(&mix_pad).is_ok());
        if !linked {
            tracing::warn!(
                "the operator's voice cannot reach the take; it records the patient only"
            );
        }
    }
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
