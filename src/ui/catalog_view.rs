//! The catalogue as the screens show it: SVG drawings decoded on first use and QR codes of the
//! portal pages, cached on the UI thread.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::catalog::Catalog;

/// The catalogue as the screens show it: the validated catalogue, its SVG drawings decoded on
/// first use, and each service's portal link as a QR code. Lives on the UI thread; build a new
/// one to switch catalogues (between citizens).
pub struct CatalogView {
    catalog: Catalog,
    images: RefCell<HashMap<String, slint::Image>>,
    qr: RefCell<HashMap<usize, slint::Image>>,
}

/// Pixels per QR module: a phone camera reads it from an arm's length.
const QR_SCALE: usize = 8;

impl CatalogView {
    pub fn new(catalog: Catalog) -> CatalogView {
        CatalogView {
            catalog,
            images: RefCell::default(),
            qr: RefCell::default(),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A drawing of the catalogue; an empty image (and a warning) if it cannot be decoded.
    pub fn image(&self, path: &str) -> slint::Image {
        if let Some(image) = self.images.borrow().get(path) {
            return image.clone();
        }
        let image = match self.catalog.image(path) {
            Some(svg) => slint::Image::load_from_svg_data(svg.as_bytes()).unwrap_or_else(|_| {
                tracing::warn!(path, "illustration cannot be drawn; shown without it");
                slint::Image::default()
            }),
            None => slint::Image::default(),
        };
        self.images
            .borrow_mut()
            .insert(path.to_string(), image.clone());
        image
    }

    /// The QR code of a service's portal page.
    pub(super) fn qr(&self, service: usize) -> slint::Image {
        if let Some(image) = self.qr.borrow().get(&service) {
            return image.clone();
        }
        let image = self
            .catalog
            .services
            .get(service)
            .and_then(|s| qr_image(&s.portal_url, QR_SCALE))
            .unwrap_or_default();
        self.qr.borrow_mut().insert(service, image.clone());
        image
    }

    pub(super) fn category_icon(&self, category: &str) -> slint::Image {
        self.catalog
            .categories
            .iter()
            .find(|c| c.id == category)
            .map(|c| self.image(&c.icon))
            .unwrap_or_default()
    }
}

/// A QR code as an image for the screen: black on white, `scale` whole pixels per module so
/// it stays crisp for a phone camera. `None` (and a warning) if the text cannot be encoded.
pub fn qr_image(text: &str, scale: usize) -> Option<slint::Image> {
    let qr = match crate::qr::QrMatrix::encode(text) {
        Ok(qr) => qr,
        Err(e) => {
            tracing::warn!(error = %e, "QR code not shown");
            return None;
        }
    };
    let (side, luma) = qr.to_luma(scale);
    let side32 = u32::try_from(side).ok()?;
    let mut buffer = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(side32, side32);
    for (pixel, l) in buffer.make_mut_slice().iter_mut().zip(luma) {
        *pixel = slint::Rgb8Pixel { r: l, g: l, b: l };
    }
    Some(slint::Image::from_rgb8(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_drawing_is_drawn_by_slint() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
        let catalog = Catalog::load_dir(&dir).expect("shipped catalogue");
        let view = CatalogView::new(catalog.clone());
        assert!(!catalog.images.is_empty());
        for path in catalog.images.keys() {
            let size = view.image(path).size();
            assert!(size.width > 0 && size.height > 0, "{path} cannot be drawn");
        }
        for (i, service) in catalog.services.iter().enumerate() {
            assert!(view.qr(i).size().width > 0, "{}: no QR code", service.id);
        }
        assert_eq!(view.image("images/not-there.svg").size().width, 0);
    }
}
