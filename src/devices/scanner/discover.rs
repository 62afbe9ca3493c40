//! Finding the card scanner when the config says `[scanner] port = "auto"`: the udev-named
//! `/dev/senim-scanner` first, else the first `/dev/serial/by-id/*`, then `ttyACM*`, then
//! `ttyUSB*` that is not the receipt printer. The scanner thread looks again before every
//! attempt to open, so a scanner plugged in later is found; `doctor` says which one it found.
//!
//! QEMU's `-device usb-serial` is an FTDI chip: the guest sees `/dev/ttyUSB0`, found here.

use std::path::{Path, PathBuf};

/// The word in `[scanner] port` that asks for discovery.
pub const AUTO: &str = "auto";
/// The stable name the kiosk image's udev rule gives a scanner of a known make.
pub const STABLE_SCANNER: &str = "senim-scanner";
/// The stable name of the receipt printer (never taken for the scanner).
pub use crate::devices::printer::link::STABLE_PRINTER;

/// The scanner's serial port under `dev` (normally `/dev`), or `None` when none is attached.
/// `exclude` are ports that belong to another device (the configured printer); the udev
/// printer name under `dev` is excluded too. Paths are compared after resolving links.
pub fn find_in(dev: &Path, exclude: &[PathBuf]) -> Option<PathBuf> {
    let mut taken: Vec<PathBuf> = exclude
        .iter()
        .chain(std::iter::once(&dev.join(STABLE_PRINTER)))
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    taken.sort();
    let free = |p: &Path| {
        std::fs::canonicalize(p)
            .map(|real| taken.binary_search(&real).is_err())
            .unwrap_or(false)
    };
    let stable = dev.join(STABLE_SCANNER);
    if stable.exists() && free(&stable) {
        return Some(stable);
    }
    let listed = crate::devices::nodes_in;
    listed(&dev.join("serial/by-id"), "")
        .into_iter()
        .chain(listed(dev, "ttyACM"))
        .chain(listed(dev, "ttyUSB"))
        .find(|p| free(p))
}

/// [`find_in`] on this machine's `/dev`.
pub fn find(exclude: &[PathBuf]) -> Option<PathBuf> {
    find_in(Path::new("/dev"), exclude)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn the_udev_name_first_then_by_id_then_acm_then_usb_never_the_printer() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path();
        assert_eq!(find_in(dev, &[]), None, "nothing attached: none");
        // QEMU's usb-serial: an FTDI chip, /dev/ttyUSB0.
        touch(&dev.join("ttyUSB10"));
        touch(&dev.join("ttyUSB0"));
        assert_eq!(find_in(dev, &[]), Some(dev.join("ttyUSB0")));
        touch(&dev.join("ttyACM3"));
        assert_eq!(find_in(dev, &[]), Some(dev.join("ttyACM3")));
        // The printer on ttyACM3 (configured, or by its udev name) is skipped.
        assert_eq!(
            find_in(dev, &[dev.join("ttyACM3")]),
            Some(dev.join("ttyUSB0"))
        );
        std::os::unix::fs::symlink(dev.join("ttyACM3"), dev.join(STABLE_PRINTER)).unwrap();
        assert_eq!(find_in(dev, &[]), Some(dev.join("ttyUSB0")));
        // A by-id link wins over the bare names, unless it is the printer's.
        std::fs::create_dir_all(dev.join("serial/by-id")).unwrap();
        let printer_link = dev.join("serial/by-id/usb-Printer-if00");
        std::os::unix::fs::symlink(dev.join("ttyACM3"), &printer_link).unwrap();
        assert_eq!(find_in(dev, &[]), Some(dev.join("ttyUSB0")));
        let by_id = dev.join("serial/by-id/usb-Honeywell_Scanner-if00");
        std::os::unix::fs::symlink(dev.join("ttyUSB10"), &by_id).unwrap();
        assert_eq!(find_in(dev, &[]), Some(by_id));
        // The udev name wins over everything.
        std::os::unix::fs::symlink(dev.join("ttyUSB10"), dev.join(STABLE_SCANNER)).unwrap();
        assert_eq!(find_in(dev, &[]), Some(dev.join(STABLE_SCANNER)));
    }
}
