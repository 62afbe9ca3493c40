//! The recorder's graph as text: `gst-launch` descriptions of the live pipeline (sources,
//! preview, QR, level) and the recording branch, and the whole as a `gst-launch-1.0` line.
//!
//! Descriptions are plain `gst-launch` syntax so the recorder and the bench's reference run are
//! the same graph. Device names and file paths never enter a description that is parsed in
//! process: they are set as properties afterwards (no quoting games with configuration text).

use super::{AudioSource, CameraConfig, VideoFormat, VideoSource};

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
pub(crate) struct LaunchProps {
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
///
/// With `encoded_video` the picture comes already VP8-encoded (a live call's encoder, see
/// `super::CALL_VIDEO_TEE`) and is muxed as it is.
pub(crate) fn rec_desc(
    cfg: &CameraConfig,
    devices: Devices,
    props: &LaunchProps,
    video_from: &str,
    audio_from: &str,
    encoded_video: bool,
) -> String {
    let mut d = format!(
        "webmmux name=rec-mux offset-to-zero=true ! filesink name=rec-file buffer-mode=unbuffered \
         sync=false async=false{}",
        props.location
    );
    if devices.video && encoded_video {
        // `identity` stands where the encoder would, so the muxed span is measured the same.
        d.push_str(&format!(
            " {video_from}queue name=rec-video-queue max-size-buffers=0 max-size-bytes=0 \
             max-size-time=3000000000 ! identity name=rec-video-enc ! rec-mux."
        ));
    } else if devices.video {
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

pub(crate) fn live_desc(cfg: &CameraConfig, devices: Devices, props: &LaunchProps) -> String {
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
        rec_desc(
            cfg,
            devices,
            &props,
            "video-tee. ! ",
            "audio-tee. ! ",
            false
        )
    )
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
