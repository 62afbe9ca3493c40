//! A take's folder on disk: sealing a cleanly stopped recording, recovering what a killed
//! recorder left (remux into one playable WebM), checking a file with GStreamer's Discoverer,
//! and the fsyncs that make each step survive a power cut.
//!
//! Layout of a take folder: `recording.webm` while recording (the muxer's output, fsynced every
//! [`super::SYNC_INTERVAL`]); `take.webm` once finished; `take.webm.part` only while a remux
//! runs. `take.webm` exists only complete: it appears by an atomic rename after an fsync.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_pbutils as gst_pbutils;
use gstreamer_pbutils::prelude::*;

use super::{init, CameraError, Take};

/// What the recorder writes while recording.
pub const RECORDING_FILE: &str = "recording.webm";
/// The finished take.
pub const TAKE_FILE: &str = "take.webm";
const PARTIAL_FILE: &str = "take.webm.part";
/// Longest a remux may take (three minutes of video remux in well under a second here).
const REMUX_DEADLINE: Duration = Duration::from_secs(120);
/// After a demuxer error (a torn tail), how long to wait for its EOS before forcing one.
const AFTER_ERROR_GRACE: Duration = Duration::from_secs(3);

/// What a media file holds, as GStreamer's Discoverer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    pub duration: Duration,
    /// Container caps name, e.g. `video/webm` (or `audio/webm` without pictures).
    pub container: String,
    /// Video codec caps name, e.g. `video/x-vp8`.
    pub video: Option<String>,
    /// Audio codec caps name, e.g. `audio/x-opus`.
    pub audio: Option<String>,
}

/// `text` with the take's path (and its folder's) replaced by `<take>`: a take is a citizen's
/// appeal, and GStreamer's messages quote file names.
pub(crate) fn scrub(text: &str, path: &Path) -> String {
    let mut out = text.to_string();
    let mut p = Some(path);
    while let Some(cur) = p {
        let s = cur.to_string_lossy();
        if s.len() > 1 {
            out = out.replace(s.as_ref(), "<take>");
        }
        // The file itself and its take folder; not the data folder above.
        p = if cur == path { cur.parent() } else { None };
    }
    out
}

fn caps_name(caps: Option<gst::Caps>) -> Option<String> {
    caps.and_then(|c| c.structure(0).map(|s| s.name().to_string()))
}

/// Reads a media file's container, codecs and duration (blocks up to 15 s).
pub fn inspect(path: &Path) -> Result<MediaInfo, CameraError> {
    init()?;
    let path =
        std::path::absolute(path).map_err(CameraError::io("cannot resolve the file path"))?;
    let uri = gst::glib::filename_to_uri(&path, None)
        .map_err(|e| CameraError::Media(format!("not a file path: {e}")))?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(15))
        .map_err(|e| CameraError::Media(e.to_string()))?;
    let info = discoverer.discover_uri(&uri).map_err(|e| {
        CameraError::Media(scrub(
            &scrub(&e.to_string(), &path),
            Path::new(uri.as_str()),
        ))
    })?;
    Ok(MediaInfo {
        duration: info
            .duration()
            .map(|d| Duration::from_nanos(d.nseconds()))
            .unwrap_or_default(),
        container: caps_name(info.stream_info().and_then(|s| s.caps())).unwrap_or_default(),
        video: info
            .video_streams()
            .first()
            .and_then(|s| caps_name(s.caps())),
        audio: info
            .audio_streams()
            .first()
            .and_then(|s| caps_name(s.caps())),
    })
}

pub(crate) fn fsync_file(path: &Path) -> Result<(), CameraError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(CameraError::io("cannot make the recording durable"))
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<(), CameraError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(CameraError::io("cannot make the take folder durable"))
}

/// A take from a finished file, checked with the Discoverer.
fn describe(path: &Path, interrupted: bool) -> Result<Take, CameraError> {
    let info = inspect(path)?;
    if info.duration.is_zero() || (info.video.is_none() && info.audio.is_none()) {
        return Err(CameraError::NoMedia);
    }
    let bytes = std::fs::metadata(path)
        .map_err(CameraError::io("cannot read the finished take"))?
        .len();
    Ok(Take {
        path: path.to_path_buf(),
        duration: info.duration,
        bytes,
        interrupted,
        has_video: info.video.is_some(),
        has_audio: info.audio.is_some(),
    })
}

/// After a clean stop: the muxer has finalised `recording.webm`; fsync it, rename it to
/// `take.webm`, fsync the folder, and describe it.
pub(crate) fn seal(dir: &Path) -> Result<Take, CameraError> {
    let recording = dir.join(RECORDING_FILE);
    let take = dir.join(TAKE_FILE);
    fsync_file(&recording)?;
    std::fs::rename(&recording, &take).map_err(CameraError::io("cannot file the finished take"))?;
    fsync_dir(dir)?;
    describe(&take, false)
}

/// Turns what a recorder left in `take_dir` into one playable `take.webm`.
///
/// - `take.webm` present: it is complete (it only ever appears whole); it is described.
/// - only `recording.webm` (the recorder was killed, lost power or its device failed): its
///   content up to the cut is remuxed into `take.webm`, marked `interrupted`, and the raw file
///   removed once the take is durable.
/// - nothing, or nothing playable (cut within the first moments): `Ok(None)`, files untouched.
///
/// Blocks (a remux of three minutes takes well under a second); call it off the UI thread,
/// e.g. at start-up for every folder under `<data>/videos/incoming/`.
pub fn recover_take(take_dir: &Path) -> Result<Option<Take>, CameraError> {
    init()?;
    let take = take_dir.join(TAKE_FILE);
    let recording = take_dir.join(RECORDING_FILE);
    if take.exists() {
        return match describe(&take, false) {
            Ok(t) => {
                if recording.exists() {
                    std::fs::remove_file(&recording)
                        .map_err(CameraError::io("cannot remove a superseded recording"))?;
                }
                Ok(Some(t))
            }
            Err(CameraError::NoMedia) => Ok(None),
            Err(e) => Err(e),
        };
    }
    if !recording.exists() {
        return Ok(None);
    }
    let part = take_dir.join(PARTIAL_FILE);
    let has_media = remux(&recording, &part)?;
    if !has_media {
        let _ = std::fs::remove_file(&part);
        return Ok(None);
    }
    fsync_file(&part)?;
    std::fs::rename(&part, &take).map_err(CameraError::io("cannot file the recovered take"))?;
    fsync_dir(take_dir)?;
    match describe(&take, true) {
        Ok(t) => {
            std::fs::remove_file(&recording)
                .map_err(CameraError::io("cannot remove the recovered recording"))?;
            fsync_dir(take_dir)?;
            tracing::info!(
                seconds = t.duration.as_secs_f32(),
                bytes = t.bytes,
                "recovered an interrupted take"
            );
            Ok(Some(t))
        }
        Err(CameraError::NoMedia) => {
            // Leave the raw recording as it was; the empty result helps nobody.
            let _ = std::fs::remove_file(&take);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Removes a take folder: refuses one that holds anything but a take's files, so a wrong path
/// can never delete other data.
pub fn remove_take_dir(take_dir: &Path) -> Result<(), CameraError> {
    let entries = match std::fs::read_dir(take_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CameraError::io("cannot read the take folder")(e)),
    };
    for entry in entries {
        let entry = entry.map_err(CameraError::io("cannot read the take folder"))?;
        let name = entry.file_name();
        if ![RECORDING_FILE, TAKE_FILE, PARTIAL_FILE]
            .iter()
            .any(|n| name == *n)
        {
            return Err(CameraError::Io {
                what: "refusing to delete a folder that is not a take",
                source: std::io::Error::other("unexpected file in the take folder"),
            });
        }
        std::fs::remove_file(entry.path()).map_err(CameraError::io("cannot delete the take"))?;
    }
    std::fs::remove_dir(take_dir).map_err(CameraError::io("cannot delete the take folder"))?;
    if let Some(parent) = take_dir.parent() {
        let _ = fsync_dir(parent);
    }
    Ok(())
}

fn element(name: &'static str) -> Result<gst::Element, CameraError> {
    gst::ElementFactory::make(name)
        .build()
        .map_err(|_| CameraError::MissingElement {
            element: name,
            package: "gstreamer1.0-plugins-good",
        })
}

fn path_str(path: &Path) -> Result<&str, CameraError> {
    path.to_str()
        .ok_or_else(|| CameraError::Media("the take folder's path is not UTF-8".into()))
}

/// Copies the streams of a (possibly torn) WebM into a new, finalised WebM without
/// re-encoding. Returns whether any stream was found.
fn remux(src: &Path, dst: &Path) -> Result<bool, CameraError> {
    let pipeline = gst::Pipeline::new();
    let filesrc = element("filesrc")?;
    let demux = element("matroskademux")?;
    let mux = element("webmmux")?;
    let filesink = element("filesink")?;
    filesrc.set_property("location", path_str(src)?);
    filesink.set_property("location", path_str(dst)?);
    let fail = |e: gst::glib::BoolError| CameraError::Media(format!("remux: {e}"));
    pipeline
        .add_many([&filesrc, &demux, &mux, &filesink])
        .map_err(fail)?;
    filesrc.link(&demux).map_err(fail)?;
    mux.link(&filesink).map_err(fail)?;
    let queues: Arc<Mutex<Vec<gst::Element>>> = Arc::default();
    let weak = pipeline.downgrade();
    let added = Arc::clone(&queues);
    let mux_for_pads = mux.clone();
    demux.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let kind = caps_name(Some(caps)).unwrap_or_default();
        let template = if kind.starts_with("video/") {
            "video_%u"
        } else if kind.starts_with("audio/") {
            "audio_%u"
        } else {
            return;
        };
        let linked = (|| {
            let queue = gst::ElementFactory::make("queue")
                .property("max-size-buffers", 0u32)
                .property("max-size-bytes", 0u32)
                .property("max-size-time", 0u64)
                .build()
                .ok()?;
            pipeline.add(&queue).ok()?;
            queue.sync_state_with_parent().ok()?;
            pad.link(&queue.static_pad("sink")?).ok()?;
            let mux_pad = mux_for_pads.request_pad_simple(template)?;
            queue.static_pad("src")?.link(&mux_pad).ok()?;
            Some(queue)
        })();
        match linked {
            Some(q) => added.lock().unwrap_or_else(|e| e.into_inner()).push(q),
            None => tracing::warn!(stream = kind, "remux: could not link a stream"),
        }
    });
    let stream_count = || queues.lock().unwrap_or_else(|e| e.into_inner()).len();
    let result = (|| {
        let bus = pipeline
            .bus()
            .ok_or_else(|| CameraError::Media("remux pipeline has no bus".into()))?;
        if pipeline.set_state(gst::State::Playing).is_err() {
            return Ok(false);
        }
        let mut deadline = Instant::now() + REMUX_DEADLINE;
        let mut error_seen: Option<Instant> = None;
        let mut forced = false;
        loop {
            let until = error_seen.map_or(deadline, |t| (t + AFTER_ERROR_GRACE).min(deadline));
            let wait = until.saturating_duration_since(Instant::now());
            let msg = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(wait.as_millis() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            match msg.as_ref().map(|m| m.view()) {
                Some(gst::MessageView::Eos(_)) => return Ok(stream_count() > 0),
                Some(gst::MessageView::Error(e)) => {
                    if stream_count() == 0 {
                        // Not even a header: nothing to recover.
                        tracing::debug!(error = %scrub(&e.error().to_string(), src), "remux: no streams");
                        return Ok(false);
                    }
                    // A torn tail: the demuxer normally sends EOS after this.
                    tracing::debug!(
                        error = %scrub(&e.error().to_string(), src),
                        "remux: demuxer stopped at a torn tail"
                    );
                    error_seen.get_or_insert_with(Instant::now);
                }
                _ => {
                    if error_seen.is_some() && !forced {
                        // The demuxer gave up without EOS: end the streams ourselves.
                        for q in queues.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                            if let Some(pad) = q.static_pad("sink") {
                                pad.send_event(gst::event::Eos::new());
                            }
                        }
                        forced = true;
                        error_seen = None;
                        deadline = Instant::now() + AFTER_ERROR_GRACE;
                        continue;
                    }
                    return Err(CameraError::Timeout(REMUX_DEADLINE));
                }
            }
        }
    })();
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Creates the take folder (and its parents), refuses one that already holds a take.
pub(crate) fn prepare_take_dir(dir: &Path) -> Result<(), CameraError> {
    std::fs::create_dir_all(dir).map_err(CameraError::io("cannot create the take folder"))?;
    if dir.join(RECORDING_FILE).exists() || dir.join(TAKE_FILE).exists() {
        return Err(CameraError::TakeExists);
    }
    if let Some(parent) = dir.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// What a broken-off recording left, as a take (interrupted), or why there is none.
pub(crate) fn salvage(dir: &Path) -> Result<Take, CameraError> {
    match recover_take(dir) {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(CameraError::NoMedia),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_name_a_take() {
        let file = Path::new("/var/lib/senim/videos/incoming/7f3a/recording.webm");
        let msg = "Could not open file \"/var/lib/senim/videos/incoming/7f3a/recording.webm\" \
                   for reading; folder /var/lib/senim/videos/incoming/7f3a is full";
        let clean = scrub(msg, file);
        assert!(!clean.contains("7f3a"), "{clean}");
        assert!(clean.contains("\"<take>\"") && clean.contains("folder <take> is full"));
    }
}
