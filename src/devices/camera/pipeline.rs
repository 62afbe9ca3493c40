//! Building and running the live pipeline: GStreamer elements the configuration needs, bus
//! messages forwarded to the controller, preview and QR frames copied out of appsinks, proof of
//! life and microphone levels, and person-free error reasons.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::graph::{live_desc, Devices, LaunchProps};
use super::qrscan::{LumaFrame, QrDecoder};
use super::{
    AudioOutput, AudioSource, AvDevice, CameraConfig, CameraError, CameraEvent, Frame, FrameSource,
    Msg, Sink, VideoFormat, VideoSource,
};

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
        VideoSource::None | VideoSource::Auto => {}
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
        AudioSource::None | AudioSource::Auto => {}
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

/// Which part of the graph a message comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Video,
    Audio,
    Recording,
    /// A live call's branch (see `CaptureLender`).
    Call,
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
        if name.starts_with("call") {
            return Part::Call;
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
    tx: std::sync::mpsc::Sender<Msg>,
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
            let _ = tx.send(Msg::Bus {
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

pub(crate) fn make(element: &'static str, name: &str) -> Result<gst::Element, CameraError> {
    gst::ElementFactory::make(element)
        .name(name)
        .build()
        .map_err(|_| CameraError::MissingElement {
            element,
            package: "the GStreamer plugins (make setup)",
        })
}

pub(crate) fn parse_failed(what: &str, e: gst::glib::Error) -> CameraError {
    CameraError::Init(format!("cannot build the {what} pipeline: {e}"))
}

/// Copies an RGB sample into a frame for the UI.
fn rgb_frame(sample: &gst::Sample, source: FrameSource) -> Option<Frame> {
    rgb_pixels(sample).map(|pixels| Frame { source, pixels })
}

/// The pixels of an RGB sample, rows unpadded, as the UI draws them (the camera's preview and
/// the operator's picture in a call).
pub(crate) fn rgb_pixels(
    sample: &gst::Sample,
) -> Option<slint::SharedPixelBuffer<slint::Rgb8Pixel>> {
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
    Some(pixels)
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

pub(crate) fn frames_to(
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
        tx: std::sync::mpsc::Sender<Msg>,
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
                let alive = frame_watch(tx.clone(), id, Arc::clone(&last_frame));
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

/// The loudest channel's peak in dBFS from a `level` message, clamped to −100 … 0.
pub(crate) fn peak_db(s: &gst::StructureRef) -> Option<f32> {
    let peaks = s.get::<gst::glib::ValueArray>("peak").ok()?;
    let max = peaks
        .iter()
        .filter_map(|v| v.get::<f64>().ok())
        .fold(f64::NEG_INFINITY, f64::max);
    if max.is_nan() {
        return None;
    }
    Some(max.clamp(-100.0, 0.0) as f32)
}

/// Called for each preview frame: notes when it came (stall watch) and reports the first one
/// (proof the camera works).
pub(crate) fn frame_watch(
    tx: Sender<Msg>,
    pipeline: u64,
    last_frame: Arc<std::sync::Mutex<Instant>>,
) -> impl Fn() + Send + Sync {
    let seen = AtomicBool::new(false);
    move || {
        *last_frame.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        if !seen.swap(true, Ordering::Relaxed) {
            let _ = tx.send(Msg::Alive {
                pipeline,
                device: AvDevice::Camera,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::init;
    use super::*;

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
}
