//! Catalogue loading and validation: the shipped catalogue, and one broken fixture per kind of
//! problem, each located by file, service and step.

use super::*;

const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#0a4f9c"/></svg>"##;

const CATEGORIES: &str = r#"
[[categories]]
id = "family"
icon = "images/family.svg"
title = { kk = "Отбасы", ru = "Семья", en = "Family" }
"#;

fn step(text: &str) -> String {
    format!(
        "[[steps]]\nimage = \"images/step.svg\"\ntext = {{ kk = \"{text} kk\", ru = \"{text} ru\", en = \"{text} en\" }}\n"
    )
}

fn service(id: &str) -> String {
    format!(
        r#"id = "{id}"
category = "family"
free = true
portal_url = "https://www.gov.kz/services/3042"
title = {{ kk = "Атауы", ru = "Название", en = "Title" }}
summary = {{ kk = "Қысқаша", ru = "Кратко", en = "Short" }}
gives = {{ kk = "Береді", ru = "Даёт", en = "Gives" }}
documents = [{{ kk = "Жеке куәлік", ru = "Удостоверение личности", en = "ID card" }}]
{}{}"#,
        step("one"),
        step("two")
    )
}

/// A small valid catalogue: one category, two services, two images.
fn fixture() -> Files {
    Files::from([
        ("categories.toml".to_string(), CATEGORIES.to_string()),
        ("01-a.toml".to_string(), service("kindergarten")),
        ("02-b.toml".to_string(), service("birth")),
        ("images/family.svg".to_string(), SVG.to_string()),
        ("images/step.svg".to_string(), SVG.to_string()),
    ])
}

fn problems(files: &Files) -> Vec<Problem> {
    match Catalog::from_files(files) {
        Err(CatalogError::Invalid(problems)) => problems,
        Ok(_) => panic!("the broken catalogue was accepted"),
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// The one problem matching `needle`, with its location.
fn find<'a>(problems: &'a [Problem], needle: &str) -> &'a Problem {
    problems
        .iter()
        .find(|p| p.to_string().contains(needle))
        .unwrap_or_else(|| panic!("no problem mentioning {needle:?} in {problems:#?}"))
}

fn edit(file: &str, from: &str, to: &str) -> Files {
    let mut files = fixture();
    let text = files.get_mut(file).expect("fixture file");
    assert!(text.contains(from), "{from:?} not in {file}");
    *text = text.replacen(from, to, 1);
    files
}

#[test]
fn fixture_is_valid_and_keeps_order_and_images() {
    let catalog = Catalog::from_files(&fixture()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = catalog.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["kindergarten", "birth"], "file-name order");
    assert_eq!(catalog.category_index("family"), Some(0));
    assert_eq!(catalog.step_counts(), [2, 2]);
    assert_eq!(catalog.image("images/step.svg"), Some(SVG));
    assert_eq!(catalog.services[0].steps[1].text.get(Lang::Ru), "two ru");
}

#[test]
fn shipped_catalogue_is_valid_and_complete() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services");
    let catalog = Catalog::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog.services.len() >= 12, "at least 12 real services");
    for s in &catalog.services {
        assert!(
            (4..=8).contains(&s.steps.len()),
            "{}: {} steps, the guides have 4 to 8",
            s.id,
            s.steps.len()
        );
        assert!(!s.documents.is_empty(), "{}", s.id);
    }
    // Every category has services, every service a known category (validated), and the
    // illustrations are shared: fewer drawings than steps.
    let steps: usize = catalog.step_counts().iter().sum();
    assert!(catalog.images.len() < steps);
    assert!(catalog.categories.len() >= 4);
}

#[test]
fn missing_or_empty_translation_is_located_by_service_and_step() {
    let files = edit("01-a.toml", "kk = \"Атауы\", ", "");
    let p = problems(&files);
    let title = find(&p, "`title` has no `kk` text");
    assert_eq!(title.file, PathBuf::from("01-a.toml"));
    assert_eq!(title.service.as_deref(), Some("kindergarten"));
    assert_eq!(title.step, None);

    let files = edit("02-b.toml", "two ru", "  ");
    let p = problems(&files);
    let step = find(&p, "`text` has no `ru` text");
    assert_eq!(
        (step.file.to_str(), step.service.as_deref(), step.step),
        (Some("02-b.toml"), Some("birth"), Some(2))
    );
    assert_eq!(
        step.to_string(),
        "02-b.toml: service `birth`: step 2: `text` has no `ru` text (missing or empty)"
    );
}

#[test]
fn missing_image_is_located_by_step() {
    let mut files = fixture();
    let text = files.get_mut("02-b.toml").unwrap();
    *text = text.replacen("images/step.svg", "images/gone.svg", 1);
    let p = problems(&files);
    let missing = find(&p, "`images/gone.svg` is missing");
    assert_eq!(missing.step, Some(1));
    assert_eq!(missing.service.as_deref(), Some("birth"));
    assert_eq!(p.len(), 1, "{p:#?}");
}

#[test]
fn image_path_must_stay_inside_the_folder() {
    for bad in [
        "../secret.svg",
        "/etc/passwd.svg",
        "images/step.png",
        "images//x.svg",
    ] {
        let mut files = fixture();
        let text = files.get_mut("01-a.toml").unwrap();
        *text = text.replacen("images/step.svg", bad, 1);
        let p = problems(&files);
        find(&p, "relative path to an .svg file");
    }
}

#[test]
fn unreadable_images_say_why() {
    for (svg, why) in [
        ("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\">", "not well-formed XML"),
        ("<html><body/></html>", "root element is <html>, expected <svg>"),
        ("<svg viewBox=\"0 0 1 1\"/>", "lacks xmlns"),
        ("<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "no viewBox"),
        (
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"><script>alert(1)</script></svg>",
            "it uses <script>",
        ),
        (
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"><text>egov</text></svg>",
            "it uses <text>",
        ),
        (
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"><rect fill=\"url(http://x.kz/a)\"/></svg>",
            "web address",
        ),
        ("not xml at all", "not well-formed XML"),
    ] {
        let mut files = fixture();
        files.insert("images/step.svg".into(), svg.into());
        let p = problems(&files);
        let problem = find(&p, why);
        assert!(problem.to_string().contains("`images/step.svg` cannot be shown"));
        assert!(problem.step.is_some(), "{problem}");
        // Every step using the broken image is listed: 2 services × 2 steps.
        assert_eq!(p.len(), 4, "{svg}: {p:#?}");
    }
    let mut files = fixture();
    files.insert(
        "images/family.svg".into(),
        format!("{SVG}<!--{}-->", "x".repeat(limits::IMAGE_BYTES)),
    );
    let p = problems(&files);
    find(
        &p,
        "category `family`: icon `images/family.svg` cannot be shown",
    );
}

#[test]
fn empty_step_list_is_refused() {
    let mut files = fixture();
    files.insert(
        "01-a.toml".into(),
        service("kindergarten")
            .split("[[steps]]")
            .next()
            .unwrap()
            .to_string()
            + "steps = []\n",
    );
    let p = problems(&files);
    let empty = find(&p, "the step list is empty");
    assert_eq!(empty.service.as_deref(), Some("kindergarten"));
}

#[test]
fn duplicate_id_names_both_files() {
    let mut files = fixture();
    files.insert("03-c.toml".into(), service("birth"));
    let p = problems(&files);
    let dup = find(&p, "duplicate id");
    assert_eq!(dup.file, PathBuf::from("03-c.toml"));
    assert!(dup.message.contains("02-b.toml"), "{dup}");
}

#[test]
fn unknown_category_lists_the_known_ones() {
    let files = edit("01-a.toml", "category = \"family\"", "category = \"famly\"");
    let p = problems(&files);
    let unknown = find(&p, "unknown category `famly`");
    assert!(unknown.message.contains("family"));
}

#[test]
fn category_without_services_is_refused() {
    let mut files = fixture();
    let text = files.get_mut("categories.toml").unwrap();
    text.push_str(
        "\n[[categories]]\nid = \"cars\"\nicon = \"images/family.svg\"\ntitle = { kk = \"Көлік\", ru = \"Авто\", en = \"Cars\" }\n",
    );
    let p = problems(&files);
    find(&p, "category `cars` has no services");
}

#[test]
fn missing_categories_file_is_refused() {
    let mut files = fixture();
    files.remove("categories.toml");
    let p = problems(&files);
    find(&p, "categories.toml: missing");
}

#[test]
fn broken_links_are_refused() {
    for (url, why) in [
        ("http://egov.kz/cms/ru", "must start with https://"),
        ("egov.kz/cms", "not a URL"),
        ("https://egov-kz.help/cms", "not an official host"),
        ("https://egov.kz.evil.example/", "not an official host"),
        ("https://notegov.kz/", "not an official host"),
        ("https://10.0.0.1/", "not an IP address"),
        ("https://me@egov.kz/", "user name"),
        ("https://egov.kz:8443/", "port"),
    ] {
        let files = edit("01-a.toml", "https://www.gov.kz/services/3042", url);
        let p = problems(&files);
        let problem = find(&p, why);
        assert_eq!(problem.service.as_deref(), Some("kindergarten"), "{url}");
        assert!(problem.message.contains(url), "{problem}");
    }
    for ok in [
        "https://egov.kz/cms/kk",
        "https://pki.gov.kz/",
        "https://www.enpf.kz/",
    ] {
        assert!(official_link(ok).is_ok(), "{ok}");
    }
}

#[test]
fn parse_errors_name_the_line_and_key() {
    let files = edit("01-a.toml", "free = true", "free = \"yes\"");
    let p = problems(&files);
    let parse = find(&p, "cannot parse");
    assert!(parse.message.contains("line 3"), "{parse}");
    assert!(parse.message.contains("key `free`"), "{parse}");

    let files = edit("01-a.toml", "summary =", "sumary =");
    let p = problems(&files);
    find(&p, "unknown field `sumary`");

    let files = edit("categories.toml", "icon =", "icn =");
    let p = problems(&files);
    let parse = find(&p, "categories.toml: cannot parse");
    assert!(parse.message.contains("icn"), "{parse}");
}

#[test]
fn fee_must_match_free() {
    let files = edit("01-a.toml", "free = true", "free = false");
    find(&problems(&files), "free = false needs a `fee`");
    let files = edit(
        "01-a.toml",
        "free = true",
        "free = true\nfee = { kk = \"баж\", ru = \"пошлина\", en = \"duty\" }",
    );
    find(&problems(&files), "free = true but a `fee` is given");
}

#[test]
fn text_too_long_for_the_screen_is_refused() {
    let long = "ы".repeat(limits::STEP_TEXT + 1);
    let files = edit("01-a.toml", "one ru", &long);
    let p = problems(&files);
    let problem = find(&p, "`text` in `ru` is");
    assert_eq!(problem.step, Some(1));
}

#[test]
fn every_problem_is_listed_at_once() {
    let mut files = edit("01-a.toml", "category = \"family\"", "category = \"x\"");
    let text = files.get_mut("02-b.toml").unwrap();
    *text = text
        .replacen("https://www.gov.kz/services/3042", "http://x", 1)
        .replacen("images/step.svg", "images/none.svg", 1);
    let p = problems(&files);
    assert!(p.len() >= 3, "{p:#?}");
    find(&p, "unknown category");
    find(&p, "must start with https://");
    find(&p, "`images/none.svg` is missing");
    let err = CatalogError::Invalid(p).to_string();
    assert!(err.starts_with("the service catalogue has"), "{err}");
}

#[test]
fn read_dir_takes_toml_and_svg_from_subfolders_and_load_dir_names_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("images")).unwrap();
    for (name, text) in fixture() {
        std::fs::write(dir.path().join(&name), text).unwrap();
    }
    std::fs::write(dir.path().join("README.md"), "not part of it").unwrap();
    std::fs::write(dir.path().join(".hidden.toml"), "garbage").unwrap();
    let files = read_dir(dir.path()).unwrap();
    assert_eq!(files, fixture());
    assert!(Catalog::load_dir(dir.path()).is_ok());

    std::fs::remove_file(dir.path().join("images/step.svg")).unwrap();
    let err = Catalog::load_dir(dir.path()).unwrap_err();
    let CatalogError::Invalid(p) = &err else {
        panic!("{err}");
    };
    assert_eq!(p[0].file, dir.path().join("01-a.toml"));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn unreadable_folder_names_the_setting() {
    let err = Catalog::load_dir(Path::new("/nonexistent/senim/services")).unwrap_err();
    assert!(err.to_string().contains("kiosk.catalog_dir"), "{err}");
}
