//! GStreamer pipeline descriptions and construction: the live pipeline (sources, preview, QR,
//! level), the recording branch, review playback, and the same graph as a `gst-launch-1.0` line.
//!
//! Descriptions are plain `gst-launch` syntax so the recorder and the bench's reference run are
//! the same graph. Device names and file paths never enter a description that is parsed here:
//! they are set as properties afterwards (no quoting games with configuration text).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::qrscan::{LumaFrame, QrDecoder};
use super::{
    AudioOutput, AudioSource, CameraConfig, CameraError, CameraEvent, Frame, FrameSource, Sink,
    VideoFormat, VideoSource,
};

/// Widest preview or playback frame handed to the UI (the screen shows it at ~this size).
pub const PREVIEW_MAX_WIDTH: u32 = 640;
/// Preview frames per second at most.
pub const PREVIEW_FPS: u32 = 15;
/// Frames per second offered to the QR decoder at most.
pub const QR_FPS: u32 = 4;
/// Interval of microphone level reports.
const LEVEL_INTERVAL_NS: u64 = 100_000_000;
/// Seconds between VP8 keyframes (a cut loses at most back to the last one).
const KEYFRAME_SECS: u32 = 2;

/// Initialises GStreamer once (cheap after the first call).
pub(crate) fn init() -> Result<(), CameraError> {
    gst::init().map_err(|e| CameraError::Init(e.to_string()))
}

/// Every element the configuration needs, with the Debian package that ships it.
fn needed_elements(cfg: &CameraConfig) -> Vec<(&'static str, &'static str)> {
    const BASE: &str = "gstreamer1.0-plugins-base";
    const GOOD: &str = "gstreamer1.0-plugins-good";
    const CORE: &str = "libgstreamer1.0-0";
    let mut v = vec![
        ("queue", CORE),
        ("tee", CORE),
        ("valve", CORE),
        ("fakesink", CORE),
        ("filesrc", CORE),
        ("filesink", CORE),
        ("webmmux", GOOD),
        ("matroskademux", GOOD),
        ("playbin", BASE),
        ("appsink", BASE),
    ];
    match cfg.video {
        VideoSource::V4l2 => v.push(("v4l2src", GOOD)),
        VideoSource::Test => v.push(("videotestsrc", BASE)),
        VideoSource::None => {}
    }
    if cfg.video == VideoSource::V4l2 && cfg.video_format == VideoFormat::Mjpeg {
        v.push(("jpegdec", GOOD));
    }
    if cfg.has_video() {
        v.extend([
            ("videoconvert", BASE),
            ("videoscale", BASE),
            ("videorate", BASE),
            ("vp8enc", GOOD),
            ("vp8dec", GOOD),
        ]);
    }
    match cfg.audio {
        AudioSource::Pulse => v.push(("pulsesrc", "gstreamer1.0-pulseaudio")),
        AudioSource::Alsa => v.push(("alsasrc", "gstreamer1.0-alsa")),
        AudioSource::Test => v.push(("audiotestsrc", BASE)),
        AudioSource::None => {}
    }
    if cfg.has_audio() {
        v.extend([
            ("audioconvert", BASE),
            ("audioresample", BASE),
            ("level", GOOD),
            ("opusenc", BASE),
            ("opusdec", BASE),
        ]);
    }
    match cfg.audio_output {
        AudioOutput::Auto => v.push(("autoaudiosink", GOOD)),
        AudioOutput::Pulse => v.push(("pulsesink", "gstreamer1.0-pulseaudio")),
        AudioOutput::Alsa => v.push(("alsasink", "gstreamer1.0-alsa")),
        AudioOutput::None => {}
    }
    v
}

/// Refuses to start when an element the configuration needs is not installed.
pub(crate) fn check_elements(cfg: &CameraConfig) -> Result<(), CameraError> {
    for (element, package) in needed_elements(cfg) {
        if gst::ElementFactory::find(element).is_none() {
            return Err(CameraError::MissingElement { element, package });
        }
    }
    Ok(())
}

/// Preview size: the capture size scaled to at most [`PREVIEW_MAX_WIDTH`] wide, even sides.
pub(crate) fn preview_size(cfg: &CameraConfig) -> (u32, u32) {
    let w = cfg.width.min(PREVIEW_MAX_WIDTH) & !1;
    let h = ((u64::from(cfg.height) * u64::from(w) / u64::from(cfg.width.max(1))) as u32) & !1;
    (w.max(2), h.max(2))
}

/// Which devices a live pipeline includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Devices {
    pub video: bool,
    pub audio: bool,
}

/// Extra text for the `gst-launch` line (device and file properties, shell-quoted); empty for
/// in-process descriptions, where they are set as properties.
#[derive(Default)]
struct LaunchProps {
    video_device: String,
    audio_device: String,
    location: String,
}

fn video_desc(cfg: &CameraConfig, props: &LaunchProps) -> String {
    let (w, h, f) = (cfg.width, cfg.height, cfg.fps);
    let (pw, ph) = preview_size(cfg);
    let source = match (cfg.video, cfg.video_format) {
        (VideoSource::V4l2, VideoFormat::Raw) => format!(
            "v4l2src name=video-src{} ! video/x-raw,width={w},height={h},framerate={f}/1",
            props.video_device
        ),
        (VideoSource::V4l2, VideoFormat::Mjpeg) => format!(
            "v4l2src name=video-src{} ! image/jpeg,width={w},height={h},framerate={f}/1 \
             ! jpegdec name=video-jpegdec",
            props.video_device
        ),
        // YUY2 like a USB camera; a slowly scrolling pattern so encoding costs like a real scene.
        _ => format!(
            "videotestsrc name=video-src is-live=true pattern=smpte horizontal-speed=2{} \
             ! video/x-raw,format=YUY2,width={w},height={h},framerate={f}/1",
            cfg.test_stall_after
                .map(|n| format!(" num-buffers={n}"))
                .unwrap_or_default()
        ),
    };
    format!(
        "{source} ! tee name=video-tee allow-not-linked=true \
         video-tee. ! queue name=video-preview-queue leaky=downstream max-size-buffers=2 \
         max-size-bytes=0 max-size-time=0 ! videorate name=video-preview-rate \
         max-rate={PREVIEW_FPS} drop-only=true ! videoscale name=video-preview-scale \
         ! videoconvert name=video-preview-convert \
         ! video/x-raw,format=RGB,width={pw},height={ph},pixel-aspect-ratio=1/1 \
         ! appsink name=video-preview sync=false async=false drop=true max-buffers=1 \
         enable-last-sample=false wait-on-eos=false \
         video-tee. ! queue name=video-qr-queue leaky=downstream max-size-buffers=1 \
         max-size-bytes=0 max-size-time=0 ! valve name=video-qr-valve drop=true \
         drop-mode=forward-sticky-events \
         ! videorate name=video-qr-rate max-rate={QR_FPS} drop-only=true \
         ! videoconvert name=video-qr-convert ! video/x-raw,format=GRAY8 \
         ! appsink name=video-qr sync=false async=false drop=true max-buffers=1 \
         enable-last-sample=false wait-on-eos=false"
    )
}

fn audio_desc(cfg: &CameraConfig, props: &LaunchProps) -> String {
    let source = match cfg.audio {
        AudioSource::Pulse => format!(
            "pulsesrc name=audio-src client-name=senim-kiosk{}",
            props.audio_device
        ),
        AudioSource::Alsa => format!("alsasrc name=audio-src{}", props.audio_device),
        _ => "audiotestsrc name=audio-src is-live=true wave=sine freq=220 volume=0.1".into(),
    };
    format!(
        "{source} ! audioconvert name=audio-convert ! audioresample name=audio-resample \
         ! audio/x-raw,format=S16LE,rate=48000,channels=1 \
         ! level name=audio-level interval={LEVEL_INTERVAL_NS} post-messages=true \
         ! tee name=audio-tee allow-not-linked=true \
         audio-tee. ! queue name=audio-monitor-queue leaky=downstream max-size-buffers=4 \
         ! fakesink name=audio-monitor sync=false async=false"
    )
}

/// The recording branch; `video_from`/`audio_from` prefix each chain (a tee in the launch line).
fn rec_desc(
    cfg: &CameraConfig,
    devices: Devices,
    props: &LaunchProps,
    video_from: &str,
    audio_from: &str,
) -> String {
    let mut d = format!(
        "webmmux name=rec-mux offset-to-zero=true ! filesink name=rec-file buffer-mode=unbuffered \
         sync=false async=false{}",
        props.location
    );
    if devices.video {
        d.push_str(&format!(
            " {video_from}queue name=rec-video-queue max-size-buffers=0 max-size-bytes=0 \
             max-size-time=3000000000 ! videoconvert name=rec-video-convert \
             ! vp8enc name=rec-video-enc deadline=1 end-usage=cbr target-bitrate={} threads=1 \
             keyframe-max-dist={} lag-in-frames=0 ! rec-mux.",
            cfg.video_kbps * 1000,
            cfg.fps * KEYFRAME_SECS
        ));
    }
    if devices.audio {
        d.push_str(&format!(
            " {audio_from}queue name=rec-audio-queue max-size-buffers=0 max-size-bytes=0 \
             max-size-time=3000000000 ! audioconvert name=rec-audio-convert \
             ! opusenc name=rec-audio-enc bitrate={} audio-type=voice ! rec-mux.",
            cfg.audio_kbps * 1000
        ));
    }
    d
}

fn live_desc(cfg: &CameraConfig, devices: Devices, props: &LaunchProps) -> String {
    let mut parts = Vec::new();
    if devices.video {
        parts.push(video_desc(cfg, props));
    }
    if devices.audio {
        parts.push(audio_desc(cfg, props));
    }
    parts.join(" ")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=,+@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The recorder's whole graph (live pipeline with the recording branch linked, writing to
/// `out`) as a `gst-launch-1.0 -e …` command line for a shell: what a technician can try by hand
/// and what the bench runs as the reference.
pub fn launch_line(cfg: &CameraConfig, out: &std::path::Path) -> String {
    let devices = Devices {
        video: cfg.has_video(),
        audio: cfg.has_audio(),
    };
    let props = LaunchProps {
        video_device: format!(
            " {}",
            shell_quote(&format!("device={}", cfg.video_device.display()))
        ),
        audio_device: if cfg.audio_device.is_empty() {
            String::new()
        } else {
            format!(" {}", shell_quote(&format!("device={}", cfg.audio_device)))
        },
        location: format!(" {}", shell_quote(&format!("location={}", out.display()))),
    };
    format!(
        "gst-launch-1.0 -e {} {}",
        live_desc(cfg, devices, &props),
        rec_desc(cfg, devices, &props, "video-tee. ! ", "audio-tee. ! ")
    )
}

/// Which part of the graph a message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Video,
    Audio,
    Recording,
    Other,
}

/// Classifies a message source by its own or its ancestors' names.
pub(crate) fn part_of(src: Option<&gst::Object>) -> Part {
    let mut cur = src.cloned();
    while let Some(obj) = cur {
        let name = obj.name();
        if name == "rec" || name.starts_with("rec-") {
            return Part::Recording;
        }
        if name.starts_with("video-") {
            return Part::Video;
        }
        if name.starts_with("audio-") {
            return Part::Audio;
        }
        cur = obj.parent();
    }
    Part::Other
}

/// Forwards a pipeline's bus messages to the controller, tagged with the pipeline's id; the
/// first error is also kept for a failed state change.
pub(crate) fn forward_bus(
    pipeline: &gst::Pipeline,
    id: u64,
    tx: std::sync::mpsc::Sender<super::controller::Msg>,
) -> Arc<Mutex<Option<gst::Message>>> {
    let first_error = Arc::new(Mutex::new(None::<gst::Message>));
    let keep = Arc::clone(&first_error);
    if let Some(bus) = pipeline.bus() {
        bus.set_sync_handler(move |_, msg| {
            if let gst::MessageView::Error(_) = msg.view() {
                let mut slot = keep.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(msg.clone());
                }
            }
            let _ = tx.send(super::controller::Msg::Bus {
                pipeline: id,
                msg: msg.clone(),
            });
            gst::BusSyncReply::Drop
        });
    }
    first_error
}

/// Stops forwarding (drops the handler and its channel sender).
pub(crate) fn unforward_bus(pipeline: &gst::Pipeline) {
    if let Some(bus) = pipeline.bus() {
        bus.unset_sync_handler();
    }
}

/// A short, technical, person-free reason for a GStreamer error message.
pub(crate) fn error_reason(msg: &gst::Message) -> String {
    let gst::MessageView::Error(err) = msg.view() else {
        return "unknown error".into();
    };
    let who = msg
        .src()
        .map(|s| s.name().to_string())
        .unwrap_or_else(|| "pipeline".into());
    let debug = err.debug().map(|d| d.to_string()).unwrap_or_default();
    let mut reason = format!("{who}: {}", err.error().message().trim_end_matches('.'));
    if debug.contains("not-negotiated") {
        reason.push_str(
            " (the device cannot deliver the configured format: check camera.width, height, \
             fps and video_format)",
        );
    }
    reason
}

fn make(element: &'static str, name: &str) -> Result<gst::Element, CameraError> {
    gst::ElementFactory::make(element)
        .name(name)
        .build()
        .map_err(|_| CameraError::MissingElement {
            element,
            package: "the GStreamer plugins (make setup)",
        })
}

fn parse_failed(what: &str, e: gst::glib::Error) -> CameraError {
    CameraError::Init(format!("cannot build the {what} pipeline: {e}"))
}

/// Copies an RGB sample into a frame for the UI.
fn rgb_frame(sample: &gst::Sample, source: FrameSource) -> Option<Frame> {
    let caps = sample.caps()?;
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    let buffer = sample.buffer()?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = usize::try_from(*frame.plane_stride().first()?).ok()?;
    let data = frame.plane_data(0).ok()?;
    let mut pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(w as u32, h as u32);
    let out = pixels.make_mut_bytes();
    for y in 0..h {
        let src = data.get(y * stride..y * stride + w * 3)?;
        out.get_mut(y * w * 3..(y + 1) * w * 3)?
            .copy_from_slice(src);
    }
    Some(Frame { source, pixels })
}

/// Copies a GRAY8 sample into a tightly packed luma frame.
fn luma_frame(sample: &gst::Sample) -> Option<LumaFrame> {
    let caps = sample.caps()?;
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    let buffer = sample.buffer()?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).ok()?;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = usize::try_from(*frame.plane_stride().first()?).ok()?;
    let data = frame.plane_data(0).ok()?;
    let mut pixels = Vec::with_capacity(w * h);
    for y in 0..h {
        pixels.extend_from_slice(data.get(y * stride..y * stride + w)?);
    }
    Some(LumaFrame {
        width: w,
        height: h,
        pixels,
    })
}

fn frames_to(
    appsink: &gst_app::AppSink,
    source: FrameSource,
    sink: Sink,
    on_frame: impl Fn() + Send + Sync + 'static,
) {
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |appsink| {
                let sample = appsink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(frame) = rgb_frame(&sample, source) {
                    on_frame();
                    sink(CameraEvent::Frame(frame));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// The live pipeline: sources, preview frames, QR frames, level.
pub(crate) struct Live {
    pub id: u64,
    pub pipeline: gst::Pipeline,
    pub devices: Devices,
    pub first_error: Arc<Mutex<Option<gst::Message>>>,
    /// When the last preview frame came (or the pipeline was built).
    pub last_frame: Arc<Mutex<std::time::Instant>>,
}

impl Live {
    /// Builds (does not start) the live pipeline for `devices`.
    pub fn build(
        cfg: &CameraConfig,
        devices: Devices,
        id: u64,
        sink: &Sink,
        qr: Option<&Arc<QrDecoder>>,
        tx: std::sync::mpsc::Sender<super::controller::Msg>,
    ) -> Result<Live, CameraError> {
        let desc = live_desc(cfg, devices, &LaunchProps::default());
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| parse_failed("live", e))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| CameraError::Init("the live description is not a pipeline".into()))?;
        pipeline.set_property("name", format!("senim-live-{id}"));
        let last_frame = Arc::new(Mutex::new(std::time::Instant::now()));
        if devices.video {
            if cfg.video == VideoSource::V4l2 {
                if let Some(src) = pipeline.by_name("video-src") {
                    src.set_property("device", cfg.video_device.to_string_lossy().as_ref());
                }
            }
            if let Some(appsink) = pipeline
                .by_name("video-preview")
                .and_downcast::<gst_app::AppSink>()
            {
                let alive = super::controller::frame_watch(tx.clone(), id, Arc::clone(&last_frame));
                frames_to(&appsink, FrameSource::Live, Arc::clone(sink), alive);
            }
            let qr_sink = pipeline
                .by_name("video-qr")
                .and_downcast::<gst_app::AppSink>();
            if let (Some(appsink), Some(qr)) = (qr_sink, qr) {
                let qr = Arc::clone(qr);
                appsink.set_callbacks(
                    gst_app::AppSinkCallbacks::builder()
                        .new_sample(move |appsink| {
                            let sample = appsink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                            // Copy only when the decoder will take it (idle and due).
                            if qr.wants_frame() {
                                if let Some(frame) = luma_frame(&sample) {
                                    qr.offer(frame);
                                }
                            }
                            Ok(gst::FlowSuccess::Ok)
                        })
                        .build(),
                );
            }
        }
        if devices.audio && !cfg.audio_device.is_empty() {
            if let Some(src) = pipeline.by_name("audio-src") {
                src.set_property("device", cfg.audio_device.as_str());
            }
        }
        let first_error = forward_bus(&pipeline, id, tx);
        Ok(Live {
            id,
            pipeline,
            devices,
            first_error,
            last_frame,
        })
    }

    /// Opens or closes the QR branch.
    pub fn set_qr(&self, on: bool) {
        if let Some(valve) = self.pipeline.by_name("video-qr-valve") {
            valve.set_property("drop", !on);
        }
    }

    pub fn stop(&self) {
        let _ = self.pipeline.set_state(gst::State::Null);
        unforward_bus(&self.pipeline);
    }
}

/// The time span of encoded media that reached the muxer (for "how much is secured").
#[derive(Debug, Default)]
pub(crate) struct Span {
    first: AtomicU64,
    last: AtomicU64,
}

impl Span {
    fn new() -> Span {
        Span {
            first: AtomicU64::new(u64::MAX),
            last: AtomicU64::new(0),
        }
    }

    fn note(&self, pts: u64) {
        self.first.fetch_min(pts, Ordering::Relaxed);
        self.last.fetch_max(pts, Ordering::Relaxed);
    }

    /// Media time between the first and the last buffer muxed so far.
    pub fn covered(&self) -> std::time::Duration {
        let first = self.first.load(Ordering::Relaxed);
        let last = self.last.load(Ordering::Relaxed);
        if first == u64::MAX || last < first {
            return std::time::Duration::ZERO;
        }
        std::time::Duration::from_nanos(last - first)
    }
}

/// The recording branch while it is attached to the live pipeline.
pub(crate) struct RecBranch {
    pub bin: gst::Bin,
    /// (tee request pad, the branch's ghost sink pad).
    pub links: Vec<(gst::Element, gst::Pad, gst::Pad)>,
    pub span: Arc<Span>,
}

impl RecBranch {
    /// Builds the branch writing to `file`, adds it to the live pipeline and links it to the
    /// tees. `on_eos` is called (on a streaming thread) when the EOS reaches the file.
    pub fn attach(
        cfg: &CameraConfig,
        live: &Live,
        file: &std::path::Path,
        on_eos: impl Fn() + Send + Sync + 'static,
    ) -> Result<RecBranch, CameraError> {
        let desc = rec_desc(cfg, live.devices, &LaunchProps::default(), "", "");
        let bin = gst::parse::bin_from_description_with_name(&desc, false, "rec")
            .map_err(|e| parse_failed("recording", e))?;
        let filesink = bin
            .by_name("rec-file")
            .ok_or_else(|| CameraError::Init("recording branch has no file sink".into()))?;
        let location = file
            .to_str()
            .ok_or_else(|| CameraError::Init("the take folder's path is not UTF-8".into()))?;
        filesink.set_property("location", location);
        if let Some(pad) = filesink.static_pad("sink") {
            pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
                if let Some(ev) = info.event() {
                    if ev.type_() == gst::EventType::Eos {
                        on_eos();
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        let span = Arc::new(Span::new());
        for enc in ["rec-video-enc", "rec-audio-enc"] {
            if let Some(pad) = bin.by_name(enc).and_then(|e| e.static_pad("src")) {
                let span = Arc::clone(&span);
                pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                        span.note(pts.nseconds());
                    }
                    gst::PadProbeReturn::Ok
                });
            }
        }
        let mut wanted = Vec::new();
        if live.devices.video {
            wanted.push(("video-tee", "rec-video-queue", "video"));
        }
        if live.devices.audio {
            wanted.push(("audio-tee", "rec-audio-queue", "audio"));
        }
        let mut ghosts = Vec::new();
        for (tee, queue, ghost_name) in &wanted {
            let target = bin
                .by_name(queue)
                .and_then(|q| q.static_pad("sink"))
                .ok_or_else(|| CameraError::Init(format!("recording branch lacks {queue}")))?;
            let ghost = gst::GhostPad::builder_with_target(&target)
                .map_err(|e| CameraError::Init(e.to_string()))?
                .name(*ghost_name)
                .build();
            bin.add_pad(&ghost)
                .map_err(|e| CameraError::Init(e.to_string()))?;
            ghosts.push((*tee, ghost.upcast::<gst::Pad>()));
        }
        live.pipeline
            .add(&bin)
            .map_err(|e| CameraError::Init(e.to_string()))?;
        let detach_bin = |bin: &gst::Bin| {
            let _ = bin.set_state(gst::State::Null);
            let _ = live.pipeline.remove(bin);
        };
        if let Err(e) = bin.sync_state_with_parent() {
            detach_bin(&bin);
            return Err(CameraError::Init(format!(
                "cannot start the recording branch: {e}"
            )));
        }
        let mut links = Vec::new();
        for (tee_name, ghost) in ghosts {
            let linked = live.pipeline.by_name(tee_name).and_then(|tee| {
                let pad = tee.request_pad_simple("src_%u")?;
                match pad.link(&ghost) {
                    Ok(_) => Some((tee, pad, ghost.clone())),
                    Err(_) => {
                        tee.release_request_pad(&pad);
                        None
                    }
                }
            });
            match linked {
                Some(link) => links.push(link),
                None => {
                    let branch = RecBranch {
                        bin: bin.clone(),
                        links,
                        span,
                    };
                    branch.abort(live);
                    return Err(CameraError::Init(format!(
                        "cannot link the recording branch to {tee_name}"
                    )));
                }
            }
        }
        Ok(RecBranch { bin, links, span })
    }

    /// Unlinks the branch from the tees when they are idle and sends it an EOS, so the muxer
    /// finalises the file. Returns at once; `on_eos` reports the end.
    pub fn finish(&self) {
        for (_, tee_pad, ghost) in &self.links {
            let ghost = ghost.clone();
            tee_pad.add_probe(gst::PadProbeType::IDLE, move |pad, _| {
                let _ = pad.unlink(&ghost);
                ghost.send_event(gst::event::Eos::new());
                gst::PadProbeReturn::Remove
            });
        }
    }

    /// Stops the branch at once (after `finish` completed, or to give up) and removes it.
    pub fn abort(&self, live: &Live) {
        for (tee, tee_pad, ghost) in &self.links {
            let _ = tee_pad.unlink(ghost);
            tee.release_request_pad(tee_pad);
        }
        let _ = self.bin.set_state(gst::State::Null);
        let _ = live.pipeline.remove(&self.bin);
    }
}

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
        tx: std::sync::mpsc::Sender<super::controller::Msg>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_at_most_640_wide_with_the_camera_aspect() {
        let mut cfg = CameraConfig::default();
        assert_eq!(preview_size(&cfg), (640, 480));
        cfg.width = 1280;
        cfg.height = 720;
        assert_eq!(preview_size(&cfg), (640, 360));
        cfg.width = 320;
        cfg.height = 240;
        assert_eq!(preview_size(&cfg), (320, 240));
    }

    /// A GRAY8 or RGB sample whose rows are padded to 4 bytes, as GStreamer lays them out.
    fn padded_sample(format: &str, width: usize, height: usize, packed: &[u8]) -> gst::Sample {
        let bpp = packed.len() / (width * height);
        let stride = (width * bpp).div_ceil(4) * 4;
        let mut data = vec![0xAAu8; stride * height];
        for y in 0..height {
            data[y * stride..y * stride + width * bpp]
                .copy_from_slice(&packed[y * width * bpp..(y + 1) * width * bpp]);
        }
        let caps = gst::Caps::builder("video/x-raw")
            .field("format", format)
            .field("width", width as i32)
            .field("height", height as i32)
            .field("framerate", gst::Fraction::new(15, 1))
            .build();
        gst::Sample::builder()
            .buffer(&gst::Buffer::from_mut_slice(data))
            .caps(&caps)
            .build()
    }

    #[test]
    fn frames_are_unpadded_row_by_row() {
        init().unwrap();
        // 642 px wide: GStreamer pads each GRAY8 row to 644 bytes, each RGB row to 1928.
        let text = "SENIM-TECH:padded";
        let qr = crate::devices::camera::qrscan::test_support::qr_frame(text, 642, 480, 5.0, 10.0);
        let luma = luma_frame(&padded_sample("GRAY8", 642, 480, &qr.pixels)).unwrap();
        assert_eq!((luma.width, luma.height), (642, 480));
        assert_eq!(luma.pixels, qr.pixels);
        assert_eq!(
            crate::devices::camera::qrscan::decode(&luma).as_deref(),
            Some(text)
        );
        let rgb: Vec<u8> = (0..642 * 480 * 3).map(|i| (i % 251) as u8).collect();
        let frame = rgb_frame(&padded_sample("RGB", 642, 480, &rgb), FrameSource::Live).unwrap();
        assert_eq!((frame.width(), frame.height()), (642, 480));
        assert_eq!(frame.pixels.as_bytes(), &rgb[..]);
    }

    #[test]
    fn qr_frames_reach_the_decoder_only_while_scanning_is_on() {
        use std::sync::atomic::AtomicUsize;
        init().unwrap();
        let cfg = CameraConfig::test_sources(true, false);
        let frames = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&frames);
        let sink: Sink = Arc::new(move |e| {
            if matches!(e, CameraEvent::Frame(_)) {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        let qr = QrDecoder::spawn(Arc::clone(&sink)).unwrap();
        let (tx, _rx) = std::sync::mpsc::channel();
        let devices = Devices {
            video: true,
            audio: false,
        };
        let live = Live::build(&cfg, devices, 1, &sink, Some(&qr), tx).unwrap();
        live.pipeline.set_state(gst::State::Playing).unwrap();
        let wait = |what: &str, cond: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
            while !cond() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "not within 15 s: {what}"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        // A second of preview (15 frames) with scanning off: the decoder sees nothing.
        wait("15 preview frames", &|| {
            frames.load(Ordering::Relaxed) >= 15
        });
        assert_eq!(qr.decoded(), 0);
        live.set_qr(true);
        wait("two QR decodes", &|| qr.decoded() >= 2);
        live.stop();
        qr.shutdown();
    }

    #[test]
    fn launch_line_quotes_paths_for_the_shell_and_has_every_branch() {
        let mut cfg = CameraConfig::test_sources(true, true);
        cfg.video_device = "/dev/v4l/by-id/usb-Cam it's-video-index0".into();
        let line = launch_line(&cfg, std::path::Path::new("/tmp/a b/take.webm"));
        assert!(line.starts_with("gst-launch-1.0 -e "), "{line}");
        assert!(line.contains("'location=/tmp/a b/take.webm'"), "{line}");
        for name in [
            "video-tee.",
            "audio-tee.",
            "vp8enc",
            "opusenc",
            "webmmux",
            "level",
            "video-preview",
        ] {
            assert!(line.contains(name), "{name} missing: {line}");
        }
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
