//! `senim-kiosk prompts make` and `prompts check`: the screens' spoken prompts.

use std::path::Path;

use crate::speech;

/// Makes the prompts whose text changed (every one with `force`) under `dir`.
pub fn make(dir: &Path, force: bool) -> anyhow::Result<i32> {
    let report = speech::make_screen_prompts(dir, force)?;
    println!(
        "{}: {} prompt(s) made, {} unchanged",
        dir.display(),
        report.made,
        report.kept
    );
    Ok(0)
}

/// Lists every screen × language with its prompt's duration; status 1 when one is missing,
/// silent, broken or made from an old text.
pub fn check(dir: &Path) -> anyhow::Result<i32> {
    let rows = speech::check(dir)?;
    println!("{:<24} {:<3} {:>7}  status", "screen", "lng", "length");
    for row in &rows {
        println!("{}", row.line());
    }
    let bad = rows.iter().filter(|r| !r.ok()).count();
    if bad == 0 {
        println!(
            "{} prompt(s) in {}: all present and audible",
            rows.len(),
            dir.display()
        );
        Ok(0)
    } else {
        println!(
            "{bad} of {} prompt(s) in {} are not usable: run `senim-kiosk prompts make --dir {}`",
            rows.len(),
            dir.display(),
            dir.display()
        );
        Ok(1)
    }
}
