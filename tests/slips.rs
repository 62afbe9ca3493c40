//! Printed slips as a person would hold them: every receipt (3 languages, 58 and 80 mm paper,
//! code pages with and without Kazakh letters) and the test slip, laid out to ESC/POS, read
//! back by the preview interpreter and written to `target/screenshots/slip-*.png`.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use senim_kiosk::devices::printer::layout::layout;
use senim_kiosk::devices::printer::preview::{self, Printout};
use senim_kiosk::devices::printer::text::Fonts;
use senim_kiosk::devices::printer::{CodePage, Paper, QrMode, Seen, Slip};
use senim_kiosk::flow::Lang;

const NUMBER: &str = "A-7Q2M9XK3";
const CODE: &str = "QR7DKXW2M5TBNZ4H";
/// The default target: the call-centre's status page with the number and the check code.
const URL: &str = "https://cc.senim.example/s/A-7Q2M9XK3/QR7DKXW2M5TBNZ4H";

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
}

fn paper(width_dots: u16, code_page: CodePage) -> Paper {
    Paper {
        width_dots,
        code_page,
        code_page_number: code_page.epson_number(),
        qr: QrMode::Native,
    }
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// Lays out, reads back and saves one slip; returns its bytes and what the preview saw.
fn print(name: &str, slip: &Slip, paper: &Paper) -> (Vec<u8>, Printout) {
    let fonts = Fonts::bundled().unwrap();
    let bytes = layout(slip, paper, &fonts).unwrap();
    let (image, out) = preview::render(
        &bytes,
        usize::from(paper.width_dots),
        paper.code_page,
        &fonts,
    )
    .unwrap_or_else(|e| panic!("{name}: the printer would not understand it: {e}"));
    // A strip of table on either side, so the paper's edges are visible.
    let margin = 24;
    let (w, h) = (image.width() + 2 * margin, image.height() + 2 * margin);
    let luma = preview::to_luma(&image);
    let mut pixels = vec![150u8; w * h];
    for y in 0..image.height() {
        let row = (y + margin) * w + margin;
        pixels[row..row + image.width()]
            .copy_from_slice(&luma[y * image.width()..(y + 1) * image.width()]);
    }
    let path = shots().join(format!("slip-{name}.png"));
    let file = std::fs::File::create(&path).expect("create png");
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        u32::try_from(w).unwrap(),
        u32::try_from(h).unwrap(),
    );
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("png header");
    writer.write_image_data(&pixels).expect("png data");
    (bytes, out)
}

#[test]
fn receipts_in_every_language_on_both_papers() {
    let closed = Seen::At(at(2026, 11, 23, 9, 0));
    for (lang, site) in [
        (Lang::Kk, "Қарағанды облыстық көпбейінді ауруханасы"),
        (Lang::Ru, "Карагандинская областная больница"),
        (Lang::En, "Karaganda Regional Hospital"),
    ] {
        for (width, tag) in [(384u16, "58mm"), (576, "80mm")] {
            let slip = Slip::appeal(
                lang,
                NUMBER,
                "QR7DKXW2M5TBNZ4H",
                at(2026, 11, 20, 19, 41),
                closed,
                Some(URL),
                site,
            );
            let name = format!("appeal-{}-{tag}", lang.code());
            let (bytes, out) = print(&name, &slip, &paper(width, CodePage::Cp866));
            assert!(out.text_lines.iter().any(|l| l == NUMBER), "{name}");
            let label = match lang {
                Lang::Kk => "Тексеру коды",
                Lang::Ru => "Код проверки",
                Lang::En => "Check code",
            };
            // The check code under the number, on a line of its own, grouped for reading.
            let at = out.text_lines.iter().position(|l| l == label);
            assert!(
                at.is_some_and(|i| out.text_lines[i + 1] == "QR7D KXW2 M5TB NZ4H"),
                "{name}: {:?}",
                out.text_lines
            );
            assert_eq!(out.qr_codes, [URL], "{name}");
            assert!(URL.contains(CODE));
            assert!(out.cut, "{name}");
            // At 9600 baud, 10 bits a byte: a Kazakh slip costs more paper time, but stays
            // within a few seconds on 58 mm paper.
            eprintln!(
                "{name}: {} bytes, {} raster bands, {:.1} s at 9600 baud",
                bytes.len(),
                out.raster_bands,
                bytes.len() as f64 * 10.0 / 9600.0
            );
        }
    }
}

#[test]
fn open_hours_receipt_and_kz1048_printer() {
    let slip = Slip::appeal(
        Lang::Kk,
        NUMBER,
        "QR7DKXW2M5TBNZ4H",
        at(2026, 11, 23, 10, 5),
        Seen::Now,
        Some(URL),
        "Қарағанды облыстық көпбейінді ауруханасы",
    );
    let (kz_bytes, kz) = print("appeal-kk-now-kz1048", &slip, &paper(576, CodePage::Kz1048));
    assert!(kz
        .text_lines
        .iter()
        .any(|l| l == "Оны қазір колл-орталық маманы көріп отыр."));
    let (cp_bytes, _) = print("appeal-kk-now-cp866", &slip, &paper(576, CodePage::Cp866));
    eprintln!(
        "appeal-kk-now 80mm: {} bytes with kz1048, {} bytes with cp866",
        kz_bytes.len(),
        cp_bytes.len()
    );
    assert!(
        kz_bytes.len() * 3 < cp_bytes.len(),
        "text is far fewer bytes than images: {} vs {}",
        kz_bytes.len(),
        cp_bytes.len()
    );
}

#[test]
fn technician_test_slip() {
    let slip = Slip::test("K-7Q2M9X", at(2026, 11, 23, 10, 5));
    let (_, out) = print("test-58mm", &slip, &paper(384, CodePage::Cp866));
    assert!(out.text_lines.iter().any(|l| l == "Kiosk: K-7Q2M9X"));
    assert!(out
        .text_lines
        .iter()
        .any(|l| l.starts_with("Русский: Съешь же ещё")));
    let raster = Paper {
        qr: QrMode::Raster,
        ..paper(576, CodePage::Cp1251)
    };
    let (bytes, out) = print("test-80mm-raster-qr", &slip, &raster);
    assert!(out.qr_codes.is_empty(), "raster mode sends no GS ( k");
    assert!(!bytes.windows(3).any(|w| w == [0x1D, b'(', b'k']));
}

/// What a phone's camera reads from the printed QR code: the status page with the number and
/// the check code, whether the printer draws the code itself or the kiosk sends it as an image.
#[test]
fn the_receipts_qr_code_scans_to_the_status_page_with_its_check_code() {
    for (qr, tag) in [(QrMode::Native, "native"), (QrMode::Raster, "raster")] {
        let slip = Slip::appeal(
            Lang::Ru,
            NUMBER,
            CODE,
            at(2026, 11, 23, 10, 5),
            Seen::Now,
            Some(URL),
            "Карагандинская областная больница",
        );
        let paper = Paper {
            qr,
            ..paper(384, CodePage::Cp866)
        };
        let fonts = Fonts::bundled().unwrap();
        let bytes = layout(&slip, &paper, &fonts).unwrap();
        let (image, _) = preview::render(&bytes, 384, CodePage::Cp866, &fonts).unwrap();
        let luma = preview::to_luma(&image);
        let width = image.width();
        let mut prepared =
            rqrr::PreparedImage::prepare_from_greyscale(width, image.height(), |x, y| {
                luma[y * width + x]
            });
        let read: Vec<String> = prepared
            .detect_grids()
            .iter()
            .map(|g| g.decode().expect("the QR code decodes").1)
            .collect();
        assert_eq!(read, [URL], "{tag}");
        assert!(read[0].ends_with(&format!("/s/{NUMBER}/{CODE}")), "{tag}");
    }
}
