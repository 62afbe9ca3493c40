//! The recording branch: a bin (queues, VP8 and Opus encoders, WebM muxer, unbuffered file
//! sink) added to the running live pipeline when a take starts and taken off with an EOS when
//! it stops, and the span of media it has muxed (what an fsync secures).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::graph::{rec_desc, LaunchProps};
use super::pipeline::{parse_failed, Live};
use super::{CameraConfig, CameraError};

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
