//! Checks of what the remote peer sends through signalling (the SDP answer, ICE candidates)
//! before any of it reaches `webrtcbin`: pure text rules, so bad input is a typed error and
//! never a half-applied description.
//!
//! GStreamer's SDP parser accepts nearly anything (a line of garbage parses as an empty
//! message), so the shape an answer to our offer must have is checked here: version line,
//! origin, the same media sections in the same order as the offer, ICE credentials and a DTLS
//! fingerprint.

use super::CallError;

/// Longest SDP accepted from a peer (a browser's answer is 2–6 KB).
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest ICE candidate line accepted from a peer.
pub const MAX_CANDIDATE_BYTES: usize = 1024;

/// The media kinds (`audio`, `video`, …) of an SDP's `m=` lines, in order.
pub fn media_kinds(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("m="))
        .map(|m| m.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// Checks that `answer` is an SDP answer that fits an offer with `offered` media sections, and
/// parses it for `webrtcbin`.
pub fn parse_answer(
    answer: &str,
    offered: &[String],
) -> Result<gstreamer_sdp::SDPMessage, CallError> {
    let bad = |reason: String| Err(CallError::BadAnswer { reason });
    if answer.len() > MAX_SDP_BYTES {
        return bad(format!(
            "{} bytes, more than the {MAX_SDP_BYTES} an answer can need",
            answer.len()
        ));
    }
    if answer.contains('\0') {
        return bad("it holds a NUL byte".into());
    }
    let lines: Vec<&str> = answer.lines().map(str::trim_end).collect();
    if lines.first() != Some(&"v=0") {
        return bad("it does not start with the line v=0".into());
    }
    for (n, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return bad(format!("line {} is not of the form x=value", n + 1));
        }
    }
    if !lines.iter().any(|l| l.starts_with("o=")) {
        return bad("it has no origin (o=) line".into());
    }
    let kinds = media_kinds(answer);
    if kinds.as_slice() != offered {
        return bad(format!(
            "it answers media {kinds:?}, but the offer had {offered:?} (same sections, same order)"
        ));
    }
    let session_end = lines
        .iter()
        .position(|l| l.starts_with("m="))
        .unwrap_or(lines.len());
    let session = &lines[..session_end];
    let has = |section: &[&str], prefix: &str| section.iter().any(|l| l.starts_with(prefix));
    let mut sections: Vec<&[&str]> = Vec::new();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("m="))
        .map(|(i, _)| i)
        .collect();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        sections.push(&lines[start..end]);
    }
    for (i, section) in sections.iter().enumerate() {
        // A rejected section (port 0) needs no transport.
        if section
            .first()
            .is_some_and(|m| m.split(' ').nth(1) == Some("0"))
        {
            continue;
        }
        for (attr, what) in [
            ("a=ice-ufrag:", "ICE user fragment (a=ice-ufrag)"),
            ("a=ice-pwd:", "ICE password (a=ice-pwd)"),
            ("a=fingerprint:", "DTLS fingerprint (a=fingerprint)"),
        ] {
            if !has(section, attr) && !has(session, attr) {
                return bad(format!("media section {i} has no {what}"));
            }
        }
    }
    // The SDP parser asserts that GStreamer is initialised (cheap after the first call).
    gstreamer::init().map_err(|e| CallError::Init(e.to_string()))?;
    gstreamer_sdp::SDPMessage::parse_buffer(answer.as_bytes()).map_err(|e| CallError::BadAnswer {
        reason: format!("GStreamer cannot parse it: {e}"),
    })
}

/// Checks a remote ICE candidate line (`candidate:…`, with or without `a=`) for the media
/// section `mline` of an offer with `sections` sections; answers the line without `a=`.
pub fn check_candidate(mline: u32, candidate: &str, sections: usize) -> Result<String, CallError> {
    let bad = |reason: &str| {
        Err(CallError::BadCandidate {
            reason: reason.to_string(),
        })
    };
    if usize::try_from(mline).map_or(true, |m| m >= sections) {
        return Err(CallError::BadCandidate {
            reason: format!("media line {mline}, but the call has {sections}"),
        });
    }
    if candidate.len() > MAX_CANDIDATE_BYTES {
        return bad("longer than any candidate line");
    }
    if candidate.chars().any(char::is_control) {
        return bad("it holds control characters");
    }
    let line = candidate.strip_prefix("a=").unwrap_or(candidate);
    let Some(rest) = line.strip_prefix("candidate:") else {
        return bad("it does not start with candidate:");
    };
    let f: Vec<&str> = rest.split(' ').collect();
    if f.len() < 8 {
        return bad("fewer than the 8 fields of a candidate");
    }
    if f[0].is_empty() || f[0].len() > 32 {
        return bad("the foundation is empty or too long");
    }
    if !matches!(f[1].parse::<u8>(), Ok(1..=2)) {
        return bad("the component is not 1 (RTP) or 2 (RTCP)");
    }
    if !f[2].eq_ignore_ascii_case("udp") && !f[2].eq_ignore_ascii_case("tcp") {
        return bad("the transport is neither UDP nor TCP");
    }
    if f[3].parse::<u32>().is_err() {
        return bad("the priority is not a number");
    }
    let address_ok = f[4].parse::<std::net::IpAddr>().is_ok()
        || (f[4].ends_with(".local")
            && f[4]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if !address_ok {
        return bad("the address is neither an IP address nor an mDNS name");
    }
    if !matches!(f[5].parse::<u16>(), Ok(1..)) {
        return bad("the port is not a number between 1 and 65535");
    }
    if f[6] != "typ" || !matches!(f[7], "host" | "srflx" | "prflx" | "relay") {
        return bad("no candidate type (typ host|srflx|prflx|relay)");
    }
    Ok(line.to_string())
}
