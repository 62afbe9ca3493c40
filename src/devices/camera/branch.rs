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

/// One input of the recording branch: a tee's request pad and the branch's ghost sink pad it
/// feeds, through `out`: the request pad itself, or, for a tee inside a bin (a live call's mix
/// of voices), a ghost pad of that bin.
pub(crate) struct Link {
    tee: gst::Element,
    tee_pad: gst::Pad,
    out: gst::Pad,
    ghost: gst::Pad,
}

impl Link {
    /// Requests a pad of `tee` and links it (through a ghost pad of the tee's bin when that is
    /// not `top`) to `ghost`.
    fn make(top: &gst::Pipeline, tee: gst::Element, ghost: &gst::Pad) -> Option<Link> {
        let tee_pad = tee.request_pad_simple("src_%u")?;
        let parent = tee.parent().and_downcast::<gst::Bin>();
        let out = match parent {
            Some(bin) if bin.upcast_ref::<gst::Object>() != top.upcast_ref::<gst::Object>() => {
                let made = gst::GhostPad::builder_with_target(&tee_pad)
                    .ok()
                    .map(|b| b.build())
                    .filter(|g| g.set_active(true).is_ok() && bin.add_pad(g).is_ok());
                match made {
                    Some(g) => g.upcast::<gst::Pad>(),
                    None => {
                        tee.release_request_pad(&tee_pad);
                        return None;
                    }
                }
            }
            _ => tee_pad.clone(),
        };
        let link = Link {
            tee,
            tee_pad,
            out,
            ghost: ghost.clone(),
        };
        if link.out.link(ghost).is_ok() {
            Some(link)
        } else {
            link.release();
            None
        }
    }

    /// Unlinks and gives the pads back.
    fn release(&self) {
        let _ = self.out.unlink(&self.ghost);
        if self.out != self.tee_pad {
            if let Some(bin) = self.out.parent().and_downcast::<gst::Element>() {
                let _ = bin.remove_pad(&self.out);
            }
        }
        self.tee.release_request_pad(&self.tee_pad);
    }
}

/// The recording branch while it is attached to the live pipeline.
pub(crate) struct RecBranch {
    pub bin: gst::Bin,
    pub links: Vec<Link>,
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
        // During a live call its encoded picture is recorded as it is: one VP8 encoder, not two.
        let call_video = live.pipeline.by_name(super::CALL_VIDEO_TEE).is_some();
        let desc = rec_desc(
            cfg,
            live.devices,
            &LaunchProps::default(),
            "",
            "",
            call_video,
        );
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
            let tee = if call_video {
                super::CALL_VIDEO_TEE
            } else {
                "video-tee"
            };
            wanted.push((tee, "rec-video-queue", "video"));
        }
        if live.devices.audio {
            // During a live call, both voices (the call's mix) instead of the microphone alone.
            let tee = if live.pipeline.by_name(super::CALL_MIX_TEE).is_some() {
                super::CALL_MIX_TEE
            } else {
                "audio-tee"
            };
            wanted.push((tee, "rec-audio-queue", "audio"));
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
            let linked = live
                .pipeline
                .by_name(tee_name)
                .and_then(|tee| Link::make(&live.pipeline, tee, &ghost));
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
        if call_video {
            // The take must open on a keyframe: ask the call's encoder for one now rather than
            // muxing up to two seconds of pictures nobody can decode.
            if let Some(ghost) = bin.static_pad("video") {
                let key_unit = gst::Structure::builder("GstForceKeyUnit")
                    .field("all-headers", true)
                    .build();
                ghost.push_event(gst::event::CustomUpstream::new(key_unit));
            }
        }
        Ok(RecBranch { bin, links, span })
    }

    /// Unlinks the branch from the tees when they are idle and sends it an EOS, so the muxer
    /// finalises the file. Returns at once; `on_eos` reports the end.
    pub fn finish(&self) {
        for link in &self.links {
            let (out, ghost) = (link.out.clone(), link.ghost.clone());
            link.tee_pad
                .add_probe(gst::PadProbeType::IDLE, move |_, _| {
                    let _ = out.unlink(&ghost);
                    ghost.send_event(gst::event::Eos::new());
                    gst::PadProbeReturn::Remove
                });
        }
    }

    /// Stops the branch at once (after `finish` completed, or to give up) and removes it.
    pub fn abort(&self, live: &Live) {
        for link in &self.links {
            link.release();
        }
        let _ = self.bin.set_state(gst::State::Null);
        let _ = live.pipeline.remove(&self.bin);
    }
}
