//! Device adapters: each device on its own thread, reporting events and health (the serial card
//! scanner; the camera and microphone; the receipt printer).

pub mod call;
pub mod camera;
pub mod printer;
pub mod scanner;
#[cfg(test)]
mod test_pty;

/// The device nodes in `dir` whose names start with `prefix`, in numeric order (`ttyUSB2`
/// before `ttyUSB10`); a missing or unreadable folder lists none. What the scanner's and the
/// printer's discovery (`port = "auto"`) look through.
pub(crate) fn nodes_in(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort_by_key(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
        (
            name.len() - digits.len(),
            digits.parse::<u64>().unwrap_or(u64::MAX),
            name.to_string(),
        )
    });
    found
}
