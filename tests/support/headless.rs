//! A headless Slint platform for in-process UI tests: the kiosk's real `AppWindow` on a
//! `MinimalSoftwareWindow`, drawn with the software renderer into memory.

use std::path::Path;
use std::rc::Rc;

use slint::platform::software_renderer::{
    MinimalSoftwareWindow, PremultipliedRgbaColor, RepaintBufferType,
};
use slint::PhysicalSize;

use senim_kiosk::ui::AppWindow;

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl slint::platform::Platform for Headless {
    fn create_window_adapter(
        &self,
    ) -> Result<Rc<dyn slint::platform::WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }
}

/// The kiosk window on a headless platform of this thread (Slint's platform is per thread, so
/// every test calls this once on its own thread).
pub fn window() -> (Rc<MinimalSoftwareWindow>, AppWindow) {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
    }))
    .expect("set the headless platform once per thread");
    let app = AppWindow::new().expect("create the kiosk window");
    (window, app)
}

/// The window drawn as RGBA bytes.
pub fn render(window: &MinimalSoftwareWindow, size: PhysicalSize) -> Vec<u8> {
    let (w, h) = (size.width as usize, size.height as usize);
    let mut buffer = vec![PremultipliedRgbaColor::default(); w * h];
    window.request_redraw();
    window.draw_if_needed(|renderer| {
        renderer.render(&mut buffer, w);
    });
    buffer
        .iter()
        .flat_map(|p| [p.red, p.green, p.blue, 255])
        .collect()
}

pub fn write_png(path: &Path, size: PhysicalSize, rgba: &[u8]) {
    let file = std::fs::File::create(path).expect("create screenshot file");
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size.width, size.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(rgba).expect("png data");
}

/// Every text on screen now (each `Text` element's accessible label), read with
/// `i-slint-backend-testing`'s element queries (needs the debug info `build.rs` asks for).
pub fn texts(app: &AppWindow) -> Vec<String> {
    use i_slint_backend_testing::ElementRoot;
    app.root_element()
        .query_descendants()
        .match_predicate(|e| e.accessible_label().is_some_and(|l| !l.is_empty()))
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .collect()
}
