//! A raw pseudo-terminal pair for the serial drivers' tests: the driver opens the slave's path,
//! the test plays the device on the master.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;

/// Opens a pty pair in raw mode: `(master, slave, the slave's path)`.
pub(crate) fn open_raw() -> (File, File, String) {
    let (mut m, mut s) = (-1, -1);
    // SAFETY: openpty writes two fds; null name/termios/winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed: {}", io::Error::last_os_error());
    // SAFETY: plain termios calls on the fd we just got; termios is POD.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(s, &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(s, libc::TCSANOW, &t), 0);
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: the buffer is valid for its length; ptsname_r NUL-terminates on success.
    let path = unsafe {
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        CStr::from_ptr(name.as_ptr()).to_str().unwrap().to_owned()
    };
    // SAFETY: we own both fds and hand each to exactly one File.
    let (master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
    (master, slave, path)
}
