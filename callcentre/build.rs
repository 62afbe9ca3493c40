//! Bundles the console's message catalogues: every `translations/<lang>/*.po` file is
//! included into the binary through a generated list, so a new part of the console adds its
//! own `.po` file and nothing else.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("translations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut list = String::from("&[\n");
    for lang in ["kk", "ru"] {
        let dir = root.join(lang);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "po"));
        files.sort();
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let _ = writeln!(
                list,
                "    ({lang:?}, {:?}, include_str!({:?})),",
                file.file_name().unwrap_or_default().to_string_lossy(),
                file.display().to_string()
            );
        }
    }
    list.push_str("]\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(e) = std::fs::write(Path::new(&out).join("catalogues.rs"), list) {
        panic!("cannot write the catalogue list: {e}");
    }
}
