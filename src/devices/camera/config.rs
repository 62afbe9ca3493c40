//! The `[camera]` configuration section: which video and audio sources, the picture size and
//! bit rates, and the check that refuses values that can never work.

use std::path::PathBuf;

use serde::Deserialize;

/// Where the camera's pictures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoSource {
    /// A V4L2 camera (`video_device`).
    V4l2,
    /// GStreamer's test pattern: a fake for tests and the demo.
    Test,
    /// Whatever V4L2 camera is attached at start (`discover`); none found: no camera.
    Auto,
    /// No camera fitted: audio-only or typed appeals.
    #[default]
    None,
}

/// The picture format asked of a V4L2 camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoFormat {
    /// Uncompressed (usually YUY2): least CPU, but many USB cameras give 720p only as MJPEG.
    #[default]
    Raw,
    /// Motion JPEG, decoded with `jpegdec`.
    Mjpeg,
}

/// Where the microphone's sound comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioSource {
    /// A PulseAudio (or PipeWire-pulse) source.
    Pulse,
    /// An ALSA capture device.
    Alsa,
    /// GStreamer's test tone: a fake for tests and the demo.
    Test,
    /// Whatever microphone is attached at start (`discover`: Pulse first, then ALSA).
    Auto,
    /// No microphone fitted.
    #[default]
    None,
}

/// Where review playback's sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioOutput {
    /// GStreamer picks (PulseAudio, then ALSA); with no sound card it plays silently.
    #[default]
    Auto,
    Pulse,
    Alsa,
    /// No loudspeaker: review shows the picture only.
    None,
}

/// The `[camera]` section: devices, picture and bit rates (`config/kiosk.example.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub video: VideoSource,
    /// The camera's device node; prefer a stable `/dev/v4l/by-id/...-video-index0` link.
    pub video_device: PathBuf,
    pub video_format: VideoFormat,
    pub audio: AudioSource,
    /// PulseAudio source name or ALSA device (e.g. `plughw:CARD=Device`); empty: the default.
    pub audio_device: String,
    pub audio_output: AudioOutput,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    pub audio_kbps: u32,
    /// Fault injection for tests, not configurable: the test video source stops after this many
    /// frames without an error, like a stalled USB camera.
    #[serde(skip)]
    pub test_stall_after: Option<u32>,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            video: VideoSource::None,
            video_device: PathBuf::from("/dev/video0"),
            video_format: VideoFormat::Raw,
            audio: AudioSource::None,
            audio_device: String::new(),
            audio_output: AudioOutput::Auto,
            width: 640,
            height: 480,
            fps: 30,
            video_kbps: 800,
            audio_kbps: 48,
            test_stall_after: None,
        }
    }
}

/// A `[camera]` value that cannot work: the key (inside the section) and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub key: &'static str,
    pub expected: String,
    pub found: String,
}

impl CameraConfig {
    /// The test sources with the given devices: what tests, the demo and the bench use.
    pub fn test_sources(video: bool, audio: bool) -> CameraConfig {
        CameraConfig {
            video: if video {
                VideoSource::Test
            } else {
                VideoSource::None
            },
            audio: if audio {
                AudioSource::Test
            } else {
                AudioSource::None
            },
            audio_output: AudioOutput::None,
            ..CameraConfig::default()
        }
    }

    /// Whether a camera is configured (`auto` counts once `discover::resolve` found one:
    /// unresolved, it is none, never a test source).
    pub fn has_video(&self) -> bool {
        matches!(self.video, VideoSource::V4l2 | VideoSource::Test)
    }

    /// Whether a microphone is configured (`auto` as for [`Self::has_video`]).
    pub fn has_audio(&self) -> bool {
        matches!(
            self.audio,
            AudioSource::Pulse | AudioSource::Alsa | AudioSource::Test
        )
    }

    /// Refuses values that can never work.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let bad = |key, expected: &str, found: String| {
            Err(InvalidSetting {
                key,
                expected: expected.to_string(),
                found,
            })
        };
        if self.video == VideoSource::V4l2 {
            let dev = &self.video_device;
            if dev.as_os_str().is_empty() || !dev.is_absolute() {
                return bad(
                    "video_device",
                    "the camera's absolute device path, e.g. /dev/v4l/by-id/usb-…-video-index0",
                    format!("{:?}", dev.display().to_string()),
                );
            }
        }
        if self.audio_device.chars().any(char::is_control) {
            return bad(
                "audio_device",
                "a PulseAudio source name or an ALSA device such as plughw:CARD=Device",
                "control characters".into(),
            );
        }
        if !(160..=1920).contains(&self.width) || !self.width.is_multiple_of(2) {
            return bad(
                "width",
                "an even number of pixels between 160 and 1920",
                self.width.to_string(),
            );
        }
        if !(120..=1080).contains(&self.height) || !self.height.is_multiple_of(2) {
            return bad(
                "height",
                "an even number of pixels between 120 and 1080",
                self.height.to_string(),
            );
        }
        if !(5..=60).contains(&self.fps) {
            return bad(
                "fps",
                "between 5 and 60 frames per second",
                self.fps.to_string(),
            );
        }
        if !(100..=8000).contains(&self.video_kbps) {
            return bad(
                "video_kbps",
                "between 100 and 8000 kbit/s",
                self.video_kbps.to_string(),
            );
        }
        if !(16..=256).contains(&self.audio_kbps) {
            return bad(
                "audio_kbps",
                "between 16 and 256 kbit/s",
                self.audio_kbps.to_string(),
            );
        }
        Ok(())
    }
}
