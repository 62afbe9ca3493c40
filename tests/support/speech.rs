//! Helpers of the spoken-guidance tests (`tests/speech.rs`): catalogue look-ups, a folder copy
//! and a silent WAV file.

use std::path::Path;

use senim_kiosk::flow::Lang;

/// `msgid` in `lang`, from the kiosk's catalogue.
pub fn translation(lang: Lang, msgid: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "translations/{}/LC_MESSAGES/senim-kiosk.po",
        lang.code()
    ));
    let po = rspolib::pofile(path.to_str().expect("utf-8 path")).expect("catalogue");
    po.entries
        .iter()
        .find(|e| e.msgid == msgid && e.msgctxt.is_none())
        .and_then(|e| e.msgstr.clone())
        .unwrap_or_else(|| panic!("{msgid:?} is not in the {} catalogue", lang.code()))
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `seconds` of digital silence as a 16 kHz mono 16-bit WAV file.
pub fn silent_wav(seconds: u32) -> Vec<u8> {
    let rate = 16_000u32;
    let data = rate * 2 * seconds;
    let mut wav = Vec::with_capacity(44 + data as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data.to_le_bytes());
    wav.resize(44 + data as usize, 0);
    wav
}
