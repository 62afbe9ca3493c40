//! Fuzzes what a serial scanner can send: framing (every suffix, any chunking, timeouts) and
//! classification of every frame. Invariants: nothing panics, frames respect the length
//! limit, and anything accepted as a citizen carries a 12-digit IIN that parses again.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use senim_kiosk::devices::scanner::{Frame, Framer, ScannerOptions, Suffix};
use senim_kiosk::identity::{classify, Identity, Iin};

const MAX_LINE: usize = 128;

fn check(frames: Vec<Frame>) {
    for frame in frames {
        if let Frame::Text(t) = frame {
            assert!(t.raw_len <= MAX_LINE * 3, "a frame longer than the limit");
            if let Ok(Identity::Citizen { iin, .. }) = classify(&t.text).result {
                assert_eq!(iin.as_str().len(), 12);
                assert!(Iin::parse(iin.as_str()).is_ok());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let suffix = [Suffix::Cr, Suffix::Lf, Suffix::CrLf, Suffix::None][usize::from(selector & 3)];
    let options = ScannerOptions {
        suffix,
        max_line_bytes: MAX_LINE,
        ..ScannerOptions::default()
    };
    let mut framer = Framer::new(&options);
    let start = Instant::now();
    let chunk = usize::from(selector >> 2).max(1);
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let now = start + Duration::from_millis(7 * i as u64);
        check(framer.push(part, now));
        check(framer.poll(now));
    }
    check(framer.poll(start + Duration::from_secs(60)));
});
