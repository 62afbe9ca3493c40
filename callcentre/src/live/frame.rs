//! NOTIFY payloads of the PostgreSQL bus: an envelope's JSON in one or more frames, each under
//! PostgreSQL's 8000-byte payload limit, and their reassembly. Frames of one message leave one
//! connection one after another, and NOTIFY keeps a session's order, so a receiver collects
//! them per sender in order (a gap — the sender's connection broke mid-message — drops the
//! message).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Envelope;

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7999;

/// Bytes of envelope JSON per frame: escaped inside the frame's string a piece at most
/// doubles (only `"` and `\` grow: the JSON of an envelope has no raw control characters),
/// and the frame's own fields take well under 200 bytes.
const PIECE: usize = 3800;

/// One NOTIFY payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Frame {
    /// The sender's server id.
    s: String,
    /// The sender's message number.
    m: u64,
    /// This frame's place, from 0, of `n`.
    i: u32,
    n: u32,
    /// A piece of the envelope's JSON.
    d: String,
}

/// Why a payload was not understood (logged; the payload is ignored).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error(
        "a live bus payload is not a frame: {0} (is another program notifying on this channel?)"
    )]
    NotAFrame(serde_json::Error),
    #[error("a live bus message is not an envelope: {0} (servers of different versions on one bus? upgrade them all)")]
    NotAnEnvelope(serde_json::Error),
}

/// The payloads that carry `envelope` as the sender's message `m`.
pub fn split(envelope: &Envelope, m: u64) -> Result<Vec<String>, serde_json::Error> {
    let json = serde_json::to_string(envelope)?;
    let mut pieces = Vec::new();
    let mut rest = json.as_str();
    while !rest.is_empty() {
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    let n = u32::try_from(pieces.len()).unwrap_or(u32::MAX);
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::to_string(&Frame {
                s: envelope.from.clone(),
                m,
                i: u32::try_from(i).unwrap_or(u32::MAX),
                n,
                d: d.to_string(),
            })
        })
        .collect()
}

/// Messages being collected, per sender.
#[derive(Debug, Default)]
pub struct Reassembly {
    partial: HashMap<String, (u64, u32, String)>,
}

impl Reassembly {
    /// Takes one payload; the envelope once its last frame came.
    pub fn push(&mut self, payload: &str) -> Result<Option<Envelope>, FrameError> {
        let frame: Frame = serde_json::from_str(payload).map_err(FrameError::NotAFrame)?;
        let whole = if frame.n <= 1 {
            self.partial.remove(&frame.s);
            frame.d
        } else if frame.i == 0 {
            self.partial.insert(frame.s, (frame.m, 1, frame.d));
            return Ok(None);
        } else {
            let Some((m, next, so_far)) = self.partial.get_mut(&frame.s) else {
                return Ok(None);
            };
            if *m != frame.m || *next != frame.i {
                self.partial.remove(&frame.s);
                return Ok(None);
            }
            so_far.push_str(&frame.d);
            *next += 1;
            if *next < frame.n {
                return Ok(None);
            }
            match self.partial.remove(&frame.s) {
                Some((_, _, whole)) => whole,
                None => return Ok(None),
            }
        };
        serde_json::from_str(&whole)
            .map(Some)
            .map_err(FrameError::NotAnEnvelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Fact;

    fn appeals(n: usize, id: &str) -> Envelope {
        Envelope {
            from: "s1".into(),
            fact: Fact::Appeals {
                // Quotes and backslashes double when escaped: the worst case for the limit.
                ids: Some((0..n).map(|i| format!("{id}\"\\{i}ß")).collect()),
            },
        }
    }

    #[test]
    fn large_messages_go_in_frames_under_the_limit_and_come_back_whole() {
        for n in [0, 1, 300, 3000] {
            let envelope = appeals(n, "A-");
            let frames = split(&envelope, 7).unwrap();
            assert_eq!(frames.len() > 1, n >= 300, "{n}: {}", frames.len());
            let mut r = Reassembly::default();
            let mut got = None;
            for f in &frames {
                assert!(f.len() <= MAX_PAYLOAD, "{}", f.len());
                assert!(got.is_none());
                got = r.push(f).unwrap();
            }
            assert_eq!(got, Some(envelope));
        }
    }

    #[test]
    fn a_message_cut_short_is_dropped_and_the_next_one_arrives() {
        let big = split(&appeals(3000, "A-"), 1).unwrap();
        let small = split(&appeals(1, "B-"), 2).unwrap();
        let mut r = Reassembly::default();
        assert_eq!(r.push(&big[0]).unwrap(), None);
        assert_eq!(r.push(&big[1]).unwrap(), None);
        // The connection broke; the sender's next message starts afresh.
        assert_eq!(r.push(&small[0]).unwrap(), Some(appeals(1, "B-")));
        assert_eq!(
            r.push(&big[2]).unwrap(),
            None,
            "the rest of the cut message"
        );
        assert!(r.push("not json").is_err());
    }
}
