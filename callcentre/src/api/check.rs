//! The field checks of one record of a batch (`POST /api/v1/records`), after its sealed fields
//! were opened: a message for the kiosk's technician when one is wrong.

use senim_protocol::RecordBody;

/// Checks one record's fields; a message for the kiosk's technician if they are wrong.
pub(super) fn check_record(body: &RecordBody, max_video: u64) -> Result<(), String> {
    let short = |name: &str, s: &str, max: usize| {
        if s.is_empty() || s.len() > max {
            Err(format!("{name} must be 1–{max} characters"))
        } else {
            Ok(())
        }
    };
    match body {
        RecordBody::Appeal(a) => {
            if !senim_protocol::valid_appeal_id(&a.appeal_id) {
                return Err(format!(
                    "appeal_id {:?} is not `A-` and eight of 0-9, A-Z without I and O",
                    a.appeal_id
                ));
            }
            if !["kk", "ru", "en"].contains(&a.language.as_str()) {
                return Err("language must be kk, ru or en".into());
            }
            if let Some(iin) = &a.iin {
                if iin.len() != 12 || !iin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("iin must be 12 digits".into());
                }
            }
            if let Some(phone) = &a.callback_phone {
                if !senim_protocol::valid_phone(phone) {
                    return Err("callback_phone must be written +77XXXXXXXXX".into());
                }
            }
            if let Some(code) = &a.check_code {
                // The code is a secret: the message never repeats it.
                if !senim_protocol::valid_check_code(code) {
                    return Err(
                        "check_code must be 16 characters of A-Z and 2-7 (upper-case \
                         base32, as the kiosk makes it); leave it out if the appeal has none"
                            .into(),
                    );
                }
            }
            if let Some(text) = &a.text {
                if text.chars().count() > 4000 {
                    return Err("text must be at most 4,000 characters".into());
                }
            }
            if let Some(v) = &a.video {
                if v.sha256.len() != 64
                    || !v
                        .sha256
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                {
                    return Err("video.sha256 must be 64 lower-case hex digits".into());
                }
                if v.bytes == 0 || v.bytes > max_video {
                    return Err(format!("video.bytes must be 1–{max_video}"));
                }
            }
            Ok(())
        }
        RecordBody::GuideEvent(e) => {
            short("session_id", &e.session_id, 64)?;
            short("service_id", &e.service_id, 64)?;
            if e.rating.is_some_and(|r| !(1..=3).contains(&r)) {
                return Err("rating must be 1, 2 or 3".into());
            }
            Ok(())
        }
        RecordBody::DeviceFault(f) => {
            short("device", &f.device, 32)?;
            short("detail", &f.detail, 500)
        }
    }
}
