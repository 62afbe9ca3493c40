//! `senim-kiosk`: thin entry point; the library does the work.

fn main() -> std::process::ExitCode {
    senim_kiosk::logging::init();
    match senim_kiosk::cli::main() {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("senim-kiosk: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
