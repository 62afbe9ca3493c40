//! `senim-callcentre`: thin entry point; the library does the work.

fn main() -> std::process::ExitCode {
    senim_callcentre::cli::main()
}
