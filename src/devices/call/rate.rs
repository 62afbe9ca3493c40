//! The call's congestion control: the sending bit rate and frame rate follow what the link to
//! the operator carries, judged from the browser's RTCP receiver reports (loss and round trip).
//!
//! webrtcbin 1.22 has no controller of its own and Debian ships no `rtpgccbwe`, so this is the
//! loss-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02, §6): more than 5 %
//! lost (GCC: 10 %; the voice comes first here) → cut by half the loss; under 2 % → grow 5 % a
//! second; in between, hold. A sender
//! faster than the link overflows its queue, and the tail drops are the loss that brings it
//! down. (A round-trip guard was tried and dropped: the round trip also carries the operator's
//! own queue on the way back, so it cut the kiosk's rate for congestion it did not cause; the
//! delay-based half of GCC needs one-way delays from transport-wide feedback, which webrtcbin
//! 1.22 does not hand out.) Below a bit rate the frame rate is lowered first, so each picture
//! stays legible; the voice (Opus, fixed and small) is never touched and goes first on a thin
//! link.

use gstreamer as gst;

/// Loss above which the bit rate is cut. GCC says 10 %; the voice shares the link and a
/// patient's words matter more than the picture, so the kiosk gives way earlier.
const CUT_ABOVE: f64 = 0.05;

/// Lowest video bit rate, bits per second: below this the picture is useless anyway.
pub(crate) const MIN_BPS: u32 = 80_000;

/// What to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    pub bps: u32,
    pub fps: u32,
}

/// The controller's state for one call.
#[derive(Debug)]
pub(crate) struct RateControl {
    bps: u32,
    max_bps: u32,
    max_fps: u32,
}

impl RateControl {
    /// Starts at the configured bit rate and frame rate (the camera's `video_kbps`, `fps`).
    pub fn new(max_bps: u32, max_fps: u32) -> RateControl {
        RateControl {
            bps: max_bps.max(MIN_BPS),
            max_bps: max_bps.max(MIN_BPS),
            max_fps: max_fps.max(1),
        }
    }

    pub fn rate(&self) -> Rate {
        // Fewer, better pictures on a thin link: at most ~15 kbit per picture.
        let fps = if self.bps >= 250_000 {
            self.max_fps
        } else if self.bps >= 120_000 {
            self.max_fps.min(10)
        } else {
            self.max_fps.min(6)
        };
        Rate { bps: self.bps, fps }
    }

    /// One receiver report: the fraction of our packets lost since the last (0–1).
    pub fn update(&mut self, fraction_lost: f64) -> Rate {
        let lost = if fraction_lost.is_finite() {
            fraction_lost.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let bps = f64::from(self.bps);
        let next = if lost > CUT_ABOVE {
            bps * (1.0 - 0.5 * lost)
        } else if lost < 0.02 {
            bps * 1.05
        } else {
            bps
        };
        self.bps = (next as u32).clamp(MIN_BPS, self.max_bps);
        self.rate()
    }
}

/// What the browser's RTCP receiver report on our video says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Report {
    pub fraction_lost: f64,
    pub rtt: Option<f64>,
}

/// The `remote-inbound-rtp` statistics of our video in a webrtcbin `get-stats` reply.
pub(crate) fn receiver_report(stats: &gst::StructureRef) -> Option<Report> {
    stats.iter().find_map(|(_, value)| {
        let s = value.get::<gst::Structure>().ok()?;
        if s.name() != "remote-inbound-rtp" || s.get::<&str>("kind").ok()? != "video" {
            return None;
        }
        Some(Report {
            fraction_lost: s.get::<f64>("fraction-lost").ok()?,
            rtt: s.get::<f64>("round-trip-time").ok(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_link_keeps_the_configured_rate() {
        let mut rc = RateControl::new(600_000, 15);
        for _ in 0..10 {
            assert_eq!(
                rc.update(0.0),
                Rate {
                    bps: 600_000,
                    fps: 15
                }
            );
        }
    }

    #[test]
    fn heavy_loss_cuts_the_rate_and_then_the_frame_rate() {
        let mut rc = RateControl::new(600_000, 15);
        let r = rc.update(0.2);
        assert_eq!(r.bps, 540_000);
        let mut last = r;
        for _ in 0..20 {
            last = rc.update(0.3);
        }
        assert_eq!(
            last,
            Rate {
                bps: MIN_BPS,
                fps: 6
            }
        );
    }

    #[test]
    fn moderate_loss_holds_and_little_loss_recovers_slowly() {
        let mut rc = RateControl::new(600_000, 15);
        for _ in 0..10 {
            rc.update(0.4);
        }
        let low = rc.rate().bps;
        assert_eq!(rc.update(0.04).bps, low, "2–5 % holds");
        let up = rc.update(0.0).bps;
        assert_eq!(up, (f64::from(low) * 1.05) as u32);
        for _ in 0..200 {
            rc.update(0.0);
        }
        assert_eq!(
            rc.rate(),
            Rate {
                bps: 600_000,
                fps: 15
            }
        );
    }

    #[test]
    fn nonsense_reports_change_nothing_for_the_worse() {
        let mut rc = RateControl::new(400_000, 15);
        assert_eq!(rc.update(f64::NAN).bps, 400_000);
        assert_eq!(rc.update(-3.0).bps, 400_000);
        assert_eq!(
            RateControl::new(1, 0).rate(),
            Rate {
                bps: MIN_BPS,
                fps: 1
            }
        );
    }
}
