//! The look of issue 20: large text + high contrast, touch targets of at least 15 mm on the
//! configured screen, nothing laid out off the window, and the services' warnings read back
//! from what the UI shows.

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use senim_kiosk::ui::AppWindow;

/// What a citizen can touch: every element with an interactive accessible role.
fn is_control(role: AccessibleRole) -> bool {
    matches!(
        role,
        AccessibleRole::Button
            | AccessibleRole::Checkbox
            | AccessibleRole::Switch
            | AccessibleRole::Slider
            | AccessibleRole::Spinbox
            | AccessibleRole::Tab
            | AccessibleRole::Combobox
            | AccessibleRole::ListItem
            | AccessibleRole::TextInput
            | AccessibleRole::RadioButton
    )
}

fn visible(e: &ElementHandle) -> bool {
    let size = e.size();
    size.width > 0.0 && size.height > 0.0 && e.computed_opacity() > 0.0
}

fn name(e: &ElementHandle) -> String {
    e.accessible_label()
        .map(|l| l.to_string())
        .filter(|l| !l.is_empty())
        .or_else(|| e.id().map(|i| i.to_string()))
        .unwrap_or_else(|| format!("{:?}", e.type_name()))
}

/// One millimetre in the window's pixels on a screen of `diagonal_inches` whose window is
/// `width`×`height` pixels (what `ui/theme.slint` computes, done again here independently).
pub fn pixels_per_mm(width: f32, height: f32, diagonal_inches: f32) -> f32 {
    (width * width + height * height).sqrt() / (diagonal_inches * 25.4)
}

/// Every control on screen smaller than `min_mm` one way or the other, as "label: w×h mm",
/// those of `keep` only.
pub fn small_targets(
    app: &AppWindow,
    px_per_mm: f32,
    min_mm: f32,
    keep: fn(&ElementHandle) -> bool,
) -> Vec<String> {
    app.root_element()
        .query_descendants()
        .match_predicate(|e| e.accessible_role().is_some_and(is_control))
        .find_all()
        .into_iter()
        .filter(visible)
        .filter(keep)
        .filter_map(|e| {
            let size = e.size();
            let (w, h) = (size.width / px_per_mm, size.height / px_per_mm);
            // Half a pixel of rounding is not a smaller target.
            let tolerance = 0.5 / px_per_mm;
            (w + tolerance < min_mm || h + tolerance < min_mm)
                .then(|| format!("{}: {w:.1}×{h:.1} mm", name(&e)))
        })
        .collect()
}

/// How many controls the screen offers (to be sure the measuring saw some).
pub fn controls(app: &AppWindow) -> usize {
    app.root_element()
        .query_descendants()
        .match_predicate(|e| e.accessible_role().is_some_and(is_control))
        .find_all()
        .into_iter()
        .filter(visible)
        .count()
}

/// Every labelled element (texts and controls) that reaches outside the `width`×`height`
/// window: a layout taller or wider than the screen pushes them out and they are cut off.
pub fn off_window(app: &AppWindow, width: f32, height: f32) -> Vec<String> {
    // What a Flickable holds is scrolled into view, not cut off: its area's elements are left
    // out (a Flickable inside the window is itself checked like the rest).
    let scrollers: Vec<(f32, f32, f32, f32)> = app
        .root_element()
        .query_descendants()
        .match_type_name("Flickable")
        .find_all()
        .into_iter()
        .filter(visible)
        .map(|f| {
            let (p, s) = (f.absolute_position(), f.size());
            (p.x, p.y, p.x + s.width, p.y + s.height)
        })
        .collect();
    let scrolled = |x: f32, y: f32, w: f32| {
        scrollers
            .iter()
            .any(|&(l, t, r, _)| x >= l - 1.0 && x + w <= r + 1.0 && y >= t - 1.0)
    };
    app.root_element()
        .query_descendants()
        .match_predicate(|e| e.accessible_label().is_some_and(|l| !l.is_empty()))
        .find_all()
        .into_iter()
        .filter(visible)
        .filter_map(|e| {
            let (p, s) = (e.absolute_position(), e.size());
            if scrolled(p.x, p.y, s.width) {
                return None;
            }
            let out = p.x < -1.0
                || p.y < -1.0
                || p.x + s.width > width + 1.0
                || p.y + s.height > height + 1.0;
            out.then(|| {
                format!(
                    "{} at {:.0},{:.0} size {:.0}×{:.0}",
                    name(&e),
                    p.x,
                    p.y,
                    s.width,
                    s.height
                )
            })
        })
        .collect()
}
