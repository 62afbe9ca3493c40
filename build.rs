//! Compiles the Slint UI and bundles the Kazakh and Russian catalogues (English is the source).
fn main() {
    // Element debug info (type names, ids) lets `tests/screenshots.rs` read what each screen
    // says through `i-slint-backend-testing`'s element queries. Tests and the demo build in the
    // dev profile; the kiosk's release binary (image, bench) carries no such tables.
    let debug_info = std::env::var("PROFILE").as_deref() == Ok("debug");
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(debug_info)
        .with_style("fluent-light".into())
        .with_bundled_translations("translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(error) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
