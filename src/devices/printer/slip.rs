//! What a printed slip says (pure): the appeal receipt in the citizen's language and the technician's test slip, as blocks the layout turns into ESC/POS.
//!
//! The slip's sentences live here in a small typed table per language, because the Slint
//! `.po` catalogues are not reachable from Rust. They repeat the receipt screen's wording.
//! A slip carries no personal data: no name, IIN or phone number, only the appeal number.

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::escpos::Align;
use crate::flow::Lang;

/// When the citizen's appeal will be seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Operators are at work: one has it now.
    Now,
    /// The call-centre is closed; it is seen at this local date and time.
    At(NaiveDateTime),
}

impl From<Option<NaiveDateTime>> for Seen {
    /// The flow's `Receipt::seen_at` (`None`: an operator has it now).
    fn from(seen_at: Option<NaiveDateTime>) -> Seen {
        seen_at.map_or(Seen::Now, Seen::At)
    }
}

/// How big a line is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The printer's normal font (12×24 dots).
    Normal,
    /// Double width and height.
    Large,
    /// As large as fits on one line (at most 4×): the appeal number.
    Largest,
}

/// How a line of text looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub size: Size,
    pub bold: bool,
    pub align: Align,
}

impl Style {
    const fn centred(size: Size, bold: bool) -> Style {
        Style {
            size,
            bold,
            align: Align::Center,
        }
    }
}

/// One piece of a slip, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph, wrapped to the paper.
    Text { text: String, style: Style },
    /// A QR code of this text, centred.
    Qr(String),
    /// Half a line of blank paper.
    Space,
    /// A thin line across the paper.
    Rule,
    /// A frame as wide as the configured paper, with ticks every 8 mm (test slip).
    WidthRuler,
}

/// Which slip it is (for logs: never its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlipKind {
    Appeal,
    Test,
}

impl SlipKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SlipKind::Appeal => "appeal",
            SlipKind::Test => "test",
        }
    }
}

/// A slip to print. Build one with [`Slip::appeal`] or [`Slip::test`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slip {
    kind: SlipKind,
    blocks: Vec<Block>,
}

/// The receipt's sentences in one language.
struct Words {
    title: &'static str,
    number: &'static str,
    check_code: &'static str,
    accepted_at: &'static str,
    seen_now: &'static str,
    seen_at: &'static str,
    follow: &'static str,
    keep: &'static str,
    /// Monday first.
    weekdays: [&'static str; 7],
    /// January first, in the form used inside a date (Russian: genitive).
    months: [&'static str; 12],
}

const KK: Words = Words {
    title: "Өтінішіңіз қабылданды",
    number: "Өтініш нөмірі",
    check_code: "Тексеру коды",
    accepted_at: "Қабылданған уақыты",
    seen_now: "Оны қазір колл-орталық маманы көріп отыр.",
    seen_at: "Колл-орталық маманы оны мына уақытта қарайды:",
    follow: "Өтінішіңіздің барысын білу үшін QR-кодты телефоныңызбен сканерлеңіз немесе сілтемені ашыңыз:",
    keep: "Бұл түбіртекті сақтап қойыңыз.",
    weekdays: [
        "дүйсенбі",
        "сейсенбі",
        "сәрсенбі",
        "бейсенбі",
        "жұма",
        "сенбі",
        "жексенбі",
    ],
    months: [
        "қаңтар",
        "ақпан",
        "наурыз",
        "сәуір",
        "мамыр",
        "маусым",
        "шілде",
        "тамыз",
        "қыркүйек",
        "қазан",
        "қараша",
        "желтоқсан",
    ],
};

const RU: Words = Words {
    title: "Ваше обращение принято",
    number: "Номер обращения",
    check_code: "Код проверки",
    accepted_at: "Время приёма",
    seen_now: "Специалист колл-центра уже видит его.",
    seen_at: "Специалист колл-центра рассмотрит его:",
    follow: "Чтобы следить за ходом рассмотрения обращения, отсканируйте QR-код телефоном или откройте ссылку:",
    keep: "Сохраните этот талон.",
    weekdays: [
        "понедельник",
        "вторник",
        "среда",
        "четверг",
        "пятница",
        "суббота",
        "воскресенье",
    ],
    months: [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
};

const EN: Words = Words {
    title: "Your appeal has been accepted",
    number: "Appeal number",
    check_code: "Check code",
    accepted_at: "Accepted",
    seen_now: "A call-centre specialist has it now.",
    seen_at: "A call-centre specialist will see it on:",
    follow: "To follow your appeal, scan the QR code with your phone or open:",
    keep: "Please keep this slip.",
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Kk => &KK,
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// "25 қараша, дүйсенбі, 09:00", "понедельник, 25 ноября, 09:00", "Monday 25 November, 09:00":
/// the same forms as the kiosk's screens.
pub fn when(lang: Lang, at: NaiveDateTime) -> String {
    let w = words(lang);
    let weekday = w.weekdays[at.weekday().num_days_from_monday() as usize];
    let month = w.months[at.month0() as usize];
    let day = at.day();
    let time = format!("{:02}:{:02}", at.hour(), at.minute());
    match lang {
        Lang::Kk => format!("{day} {month}, {weekday}, {time}"),
        Lang::Ru => format!("{weekday}, {day} {month}, {time}"),
        Lang::En => format!("{weekday} {day} {month}, {time}"),
    }
}

/// "25.11.2026, 14:32": the date and time written the way Kazakhstan writes it, in all three
/// languages.
pub fn stamp(at: NaiveDateTime) -> String {
    at.format("%d.%m.%Y, %H:%M").to_string()
}

/// "ABCD EFGH IJKL MNOP": a check code as the receipt screen shows it.
fn group_by_four(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c))
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(text: impl Into<String>, style: Style) -> Block {
    Block::Text {
        text: text.into(),
        style,
    }
}

impl Slip {
    /// The citizen's receipt for an appeal, in their language: where, the appeal number
    /// (large) and its check code (grouped by four), when it was accepted, when it will be
    /// seen, and, when the kiosk has a status page, a QR code of `status_url` with a line on
    /// how to follow the appeal.
    #[allow(clippy::too_many_arguments)]
    pub fn appeal(
        lang: Lang,
        number: &str,
        check_code: &str,
        created_local: NaiveDateTime,
        seen: Seen,
        status_url: Option<&str>,
        site_name: &str,
    ) -> Slip {
        let w = words(lang);
        let normal = Style::centred(Size::Normal, false);
        let bold = Style::centred(Size::Normal, true);
        let mut blocks = vec![
            text(site_name, bold),
            Block::Rule,
            Block::Space,
            text(w.title, Style::centred(Size::Large, true)),
            Block::Space,
            text(w.number, normal),
            text(number, Style::centred(Size::Largest, true)),
        ];
        if !check_code.is_empty() {
            blocks.push(text(w.check_code, normal));
            blocks.push(text(group_by_four(check_code), bold));
        }
        blocks.extend([
            Block::Space,
            text(
                format!("{}: {}", w.accepted_at, stamp(created_local)),
                normal,
            ),
            Block::Space,
        ]);
        match seen {
            Seen::Now => blocks.push(text(w.seen_now, bold)),
            Seen::At(at) => {
                blocks.push(text(w.seen_at, normal));
                blocks.push(text(when(lang, at), bold));
            }
        }
        if let Some(url) = status_url.filter(|u| !u.is_empty()) {
            blocks.push(Block::Space);
            blocks.push(Block::Rule);
            blocks.push(text(w.follow, normal));
            blocks.push(Block::Qr(url.to_string()));
            let shown = url.strip_prefix("https://").unwrap_or(url);
            blocks.push(text(shown, normal));
        }
        blocks.push(Block::Rule);
        blocks.push(text(w.keep, normal));
        Slip {
            kind: SlipKind::Appeal,
            blocks,
        }
    }

    /// The technician's test slip: the kiosk id and time, Russian text in the code page,
    /// Kazakh letters as an image, the paper width, sizes and a QR code.
    pub fn test(kiosk_id: &str, now: NaiveDateTime) -> Slip {
        let left = |t: &str| text(t, Style::centred(Size::Normal, false));
        let blocks = vec![
            text("SENIM", Style::centred(Size::Large, true)),
            text("Printer test", Style::centred(Size::Normal, true)),
            text("Тест принтера · Принтер сынағы", Style::centred(Size::Normal, false)),
            Block::Rule,
            left(&format!("Kiosk: {kiosk_id}")),
            left(&format!("Time: {}", stamp(now))),
            Block::Rule,
            left("Русский: Съешь же ещё этих мягких французских булок, да выпей чаю. №1"),
            left("Қазақша: Әә Ғғ Ққ Ңң Өө Ұұ Үү Һһ Іі"),
            left("If the Russian line is garbled, set printer.code_page_number from the printer's manual."),
            Block::Space,
            left("The frame below must touch both edges of the paper:"),
            Block::WidthRuler,
            Block::Space,
            text("TEST 12345", Style::centred(Size::Largest, true)),
            Block::Qr(format!("SENIM printer test {kiosk_id}")),
        ];
        Slip {
            kind: SlipKind::Test,
            blocks,
        }
    }

    pub fn kind(&self) -> SlipKind {
        self.kind
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn texts(slip: &Slip) -> Vec<&str> {
        slip.blocks()
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn dates_read_naturally_in_each_language() {
        // 2026-11-23 is a Monday.
        let monday = at(2026, 11, 23, 9, 0);
        assert_eq!(when(Lang::Kk, monday), "23 қараша, дүйсенбі, 09:00");
        assert_eq!(when(Lang::Ru, monday), "понедельник, 23 ноября, 09:00");
        assert_eq!(when(Lang::En, monday), "Monday 23 November, 09:00");
        let sunday = at(2027, 3, 21, 18, 5);
        assert_eq!(when(Lang::Kk, sunday), "21 наурыз, жексенбі, 18:05");
        assert_eq!(when(Lang::Ru, sunday), "воскресенье, 21 марта, 18:05");
        assert_eq!(stamp(at(2027, 1, 2, 7, 3)), "02.01.2027, 07:03");
    }

    #[test]
    fn appeal_slip_has_number_time_when_and_how_to_follow() {
        let slip = Slip::appeal(
            Lang::Ru,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(2026, 11, 20, 19, 41),
            Seen::At(at(2026, 11, 23, 9, 0)),
            Some("https://senim.example/a/A-7Q2M9XK3"),
            "Городская больница №4",
        );
        assert_eq!(slip.kind(), SlipKind::Appeal);
        let t = texts(&slip);
        assert!(t.contains(&"A-7Q2M9XK3"));
        assert!(t.contains(&"Код проверки"));
        assert!(t.contains(&"QR7D KXW2 M5TB NZ4H"));
        assert!(t.contains(&"Время приёма: 20.11.2026, 19:41"));
        assert!(t.contains(&"понедельник, 23 ноября, 09:00"));
        assert!(t.contains(&"senim.example/a/A-7Q2M9XK3"));
        assert!(slip
            .blocks()
            .contains(&Block::Qr("https://senim.example/a/A-7Q2M9XK3".into())));
        let number = slip
            .blocks()
            .iter()
            .find(|b| matches!(b, Block::Text { text, .. } if text == "A-7Q2M9XK3"))
            .unwrap();
        assert!(matches!(number, Block::Text { style, .. } if style.size == Size::Largest));
    }

    #[test]
    fn open_hours_say_a_specialist_has_it_now_and_no_url_means_no_qr() {
        let slip = Slip::appeal(
            Lang::Kk,
            "A-7Q2M9XK3",
            "QR7DKXW2M5TBNZ4H",
            at(2026, 11, 23, 10, 0),
            Seen::Now,
            None,
            "Қарағанды облыстық ауруханасы",
        );
        let t = texts(&slip);
        assert!(t.contains(&"Оны қазір колл-орталық маманы көріп отыр."));
        assert!(!slip.blocks().iter().any(|b| matches!(b, Block::Qr(_))));
        assert_eq!(Seen::from(None), Seen::Now);
    }

    #[test]
    fn every_language_has_its_own_sentences() {
        let make = |lang| {
            Slip::appeal(
                lang,
                "A-7Q2M9XK3",
                "QR7DKXW2M5TBNZ4H",
                at(2026, 11, 20, 19, 41),
                Seen::At(at(2026, 11, 23, 9, 0)),
                Some("https://senim.example/a/A-7Q2M9XK3"),
                "Site",
            )
        };
        let (kk, ru, en) = (make(Lang::Kk), make(Lang::Ru), make(Lang::En));
        assert_ne!(texts(&kk)[1], texts(&ru)[1]);
        assert_ne!(texts(&ru)[1], texts(&en)[1]);
        assert_eq!(texts(&en)[1], "Your appeal has been accepted");
    }

    #[test]
    fn test_slip_names_the_kiosk() {
        let slip = Slip::test("K-7Q2M9X", at(2026, 11, 23, 10, 0));
        assert_eq!(slip.kind(), SlipKind::Test);
        assert!(texts(&slip).contains(&"Kiosk: K-7Q2M9X"));
        assert!(slip.blocks().contains(&Block::WidthRuler));
    }
}
