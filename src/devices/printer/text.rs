//! Text as printer dots: the kiosk's bundled Noto Sans rasterised with `ab_glyph`, word-wrapped to the paper and thresholded to 1 bit, for lines the printer's code page cannot print.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};

use super::escpos::{Align, Bitmap};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/NotoSans-Bold.ttf");

/// Coverage at or above which a dot is printed black. A little under one half keeps thin
/// strokes of small Cyrillic letters from breaking up on a 203 dpi head.
const THRESHOLD: f32 = 0.42;

/// The bundled font could not be read (a damaged build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bundled font {0} cannot be read — the kiosk build is damaged, reinstall it")]
pub struct FontError(&'static str);

/// The two faces of the bundled Noto Sans.
#[derive(Debug, Clone)]
pub struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Fonts {
    /// The fonts compiled into the binary (the same files the UI uses).
    pub fn bundled() -> Result<Fonts, FontError> {
        Ok(Fonts {
            regular: FontRef::try_from_slice(REGULAR)
                .map_err(|_| FontError("NotoSans-Regular.ttf"))?,
            bold: FontRef::try_from_slice(BOLD).map_err(|_| FontError("NotoSans-Bold.ttf"))?,
        })
    }

    fn face(&self, bold: bool) -> &FontRef<'static> {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// Width of `text` in dots at `px` pixels per em-height.
    pub fn measure(&self, text: &str, px: f32, bold: bool) -> f32 {
        let font = self.face(bold).as_scaled(PxScale::from(px));
        let mut width = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        width
    }

    /// Greedy word wrap to `max_width` dots; a word wider than a line is split by characters.
    pub fn wrap(&self, text: &str, px: f32, bold: bool, max_width: f32) -> Vec<String> {
        let fits = |s: &str| self.measure(s, px, bold) <= max_width;
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if fits(word) {
                line = word.to_string();
            } else {
                for c in word.chars() {
                    line.push(c);
                    if !fits(&line) && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::replace(&mut line, c.to_string()));
                    }
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Height in dots of one line at `px`.
    pub fn line_height(&self, px: f32, bold: bool) -> usize {
        let font = self.face(bold).as_scaled(PxScale::from(px));
        // Positive by construction; truncation to whole dots is intended.
        (font.height() + font.line_gap()).ceil().max(1.0) as usize
    }

    /// Lines of text, one under the other, aligned within `width` dots, as a 1-bit image.
    pub fn render(
        &self,
        lines: &[String],
        px: f32,
        bold: bool,
        width: usize,
        align: Align,
    ) -> Bitmap {
        let font = self.face(bold).as_scaled(PxScale::from(px));
        let line_height = self.line_height(px, bold);
        let mut image = Bitmap::new(width, line_height * lines.len());
        for (row, text) in lines.iter().enumerate() {
            let text_width = self.measure(text, px, bold);
            let free = (image.width() as f32 - text_width).max(0.0);
            let mut x = match align {
                Align::Left => 0.0,
                Align::Center => (free / 2.0).floor(),
                Align::Right => free,
            };
            let baseline = (row * line_height) as f32 + font.ascent();
            let mut previous: Option<GlyphId> = None;
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(p) = previous {
                    x += font.kern(p, id);
                }
                self.draw_glyph(&mut image, id, (x, baseline), PxScale::from(px), bold);
                x += font.h_advance(id);
                previous = Some(id);
            }
        }
        image
    }

    /// Advance width of one character in dots.
    pub fn advance(&self, c: char, px: f32, bold: bool) -> f32 {
        let font = self.face(bold).as_scaled(PxScale::from(px));
        font.h_advance(font.glyph_id(c))
    }

    /// Ascent above the baseline in dots.
    pub fn ascent(&self, px: f32, bold: bool) -> f32 {
        self.face(bold).as_scaled(PxScale::from(px)).ascent()
    }

    /// Draws one character with its origin at (`x`, `baseline`), `px_wide` × `px_high`
    /// (a narrower width condenses it, as a printer's fixed-width font does).
    pub fn draw_char(
        &self,
        image: &mut Bitmap,
        c: char,
        (x, baseline): (f32, f32),
        (px_wide, px_high): (f32, f32),
        bold: bool,
    ) {
        let id = self.face(bold).glyph_id(c);
        let scale = PxScale {
            x: px_wide,
            y: px_high,
        };
        self.draw_glyph(image, id, (x, baseline), scale, bold);
    }

    fn draw_glyph(
        &self,
        image: &mut Bitmap,
        id: GlyphId,
        (x, baseline): (f32, f32),
        scale: PxScale,
        bold: bool,
    ) {
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        let Some(outlined) = self.face(bold).outline_glyph(glyph) else {
            return; // a space
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            if coverage >= THRESHOLD {
                let dx = bounds.min.x + gx as f32;
                let dy = bounds.min.y + gy as f32;
                if dx >= 0.0 && dy >= 0.0 {
                    // Non-negative and inside f32's exact integer range: truncation intended.
                    image.set(dx as usize, dy as usize);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_cover_kazakh_letters() {
        let fonts = Fonts::bundled().unwrap();
        for c in "ӘҒҚҢӨҰҮҺІәғқңөұүһі".chars() {
            assert_ne!(fonts.regular.glyph_id(c).0, 0, "{c} missing (regular)");
            assert_ne!(fonts.bold.glyph_id(c).0, 0, "{c} missing (bold)");
        }
    }

    #[test]
    fn wrap_keeps_words_whole_and_lines_within_the_width() {
        let fonts = Fonts::bundled().unwrap();
        let text = "Өтініштің барысын бақылау үшін QR кодты телефонмен сканерлеңіз";
        let lines = fonts.wrap(text, 24.0, false, 384.0);
        assert!(lines.len() >= 2, "{lines:?}");
        assert_eq!(lines.join(" "), text);
        for l in &lines {
            assert!(fonts.measure(l, 24.0, false) <= 384.0, "{l}");
        }
        let long = "x".repeat(200);
        let split = fonts.wrap(&long, 24.0, false, 384.0);
        assert!(split.len() > 1);
        assert_eq!(split.concat(), long);
    }

    #[test]
    fn rendered_text_has_ink_inside_the_width_and_respects_alignment() {
        let fonts = Fonts::bundled().unwrap();
        let lines = vec!["Қ".to_string()];
        let left = fonts.render(&lines, 24.0, true, 384, Align::Left);
        let right = fonts.render(&lines, 24.0, true, 384, Align::Right);
        assert_eq!(left.width(), 384);
        assert!(!left.is_blank());
        let ink_x = |img: &Bitmap| {
            (0..img.width())
                .filter(|&x| (0..img.height()).any(|y| img.get(x, y)))
                .collect::<Vec<_>>()
        };
        assert!(*ink_x(&left).last().unwrap() < 40);
        assert!(*ink_x(&right).first().unwrap() > 340);
    }
}
