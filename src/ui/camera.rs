//! The camera block (`CameraAdapter`): the live picture and the microphone level that the
//! identify, appeal and technician pages show, written by the app as the camera reports them.

use slint::{ComponentHandle, Rgb8Pixel, SharedPixelBuffer};

use super::{AppWindow, CameraAdapter};

/// Shows a camera picture on every page that has one; `None` clears it (camera off).
pub fn show_frame(window: &AppWindow, pixels: Option<SharedPixelBuffer<Rgb8Pixel>>) {
    let image = pixels.map(slint::Image::from_rgb8).unwrap_or_default();
    window.global::<CameraAdapter>().set_preview(image);
}

/// Shows the microphone level, 0 (silence or off) to 1 (loud).
pub fn show_level(window: &AppWindow, level: f32) {
    window.global::<CameraAdapter>().set_mic_level(level);
}
