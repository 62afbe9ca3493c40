//! `senim-callcentre appeals …`: list, show, assign, answer, extend and close appeals from scripts
//! (JSON with `--json`). Changes go through the same lifecycle as the console, with history
//! and audit rows naming the actor (`cli`, or `--as NAME`); a refused change exits non-zero
//! and changes nothing.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};

use crate::config::Config;
use crate::db::{self, Actor, Db, LifecycleError};

#[derive(Debug, Subcommand)]
pub enum AppealsCommand {
    /// List every stored appeal, test appeals included and marked.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One appeal with its answer and history (no IIN or phone).
    Show {
        /// The appeal number, e.g. A-7Q2M9XK3.
        number: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Assign (or reassign) an open appeal to an operator.
    Assign {
        number: String,
        /// The operator's username.
        #[arg(long, value_name = "NAME")]
        to: String,
        /// Who makes the change, in the history and the audit.
        #[arg(long = "as", value_name = "NAME", default_value = "cli")]
        actor: String,
    },
    /// Answer an assigned appeal or one in progress; SMS the citizen if `[sms]` is set.
    Answer {
        number: String,
        /// A UTF-8 file with the answer's text (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// The answer's language (default: the citizen's).
        #[arg(long, value_enum)]
        language: Option<LangArg>,
        /// Who answers, in the history and the audit.
        #[arg(long = "as", value_name = "NAME", default_value = "cli")]
        actor: String,
    },
    /// Extend an open appeal's deadline (once) to `[deadlines] extended_days`.
    Extend {
        number: String,
        /// Why (required; kept in the history).
        #[arg(long, value_name = "TEXT")]
        reason: String,
        /// Who extends it, in the history and the audit.
        #[arg(long = "as", value_name = "NAME", default_value = "cli")]
        actor: String,
    },
    /// Close an appeal: an answered one, or an open one with a reason.
    Close {
        number: String,
        /// Why (required when the appeal has no answer).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Who closes it, in the history and the audit.
        #[arg(long = "as", value_name = "NAME", default_value = "cli")]
        actor: String,
    },
}

/// `--language` of `appeals answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Kk,
    Ru,
    En,
}

impl LangArg {
    fn code(self) -> &'static str {
        match self {
            LangArg::Kk => "kk",
            LangArg::Ru => "ru",
            LangArg::En => "en",
        }
    }
}

/// Runs an `appeals` subcommand.
pub fn run(config: &Config, command: AppealsCommand) -> anyhow::Result<()> {
    let db = super::open_db(config)?;
    match command {
        AppealsCommand::List { json } => list(&db, json),
        AppealsCommand::Show { number, json } => show(&db, &number, json),
        AppealsCommand::Assign { number, to, actor } => {
            change(
                &db,
                &number,
                |tx, who| db::assign(tx, &number, who, &to, Utc::now()),
                &actor,
            )?;
            println!("Appeal {number} is assigned to {to}.");
            Ok(())
        }
        AppealsCommand::Answer {
            number,
            text_file,
            language,
            actor,
        } => {
            let text = read_text(&text_file)?;
            let language = match language {
                Some(l) => l.code().to_string(),
                None => {
                    let appeal = get(&db, &number)?;
                    match appeal.language.as_str() {
                        l @ ("kk" | "ru" | "en") => l.to_string(),
                        _ => anyhow::bail!(
                            "appeal {number} has no citizen's language on record; give \
                             --language kk, ru or en"
                        ),
                    }
                }
            };
            let sms = change(
                &db,
                &number,
                |tx, who| {
                    crate::sms::answer(tx, config, &number, who, &text, &language, Utc::now())
                },
                &actor,
            )?;
            println!(
                "Appeal {number} is answered ({language}).{}",
                if sms {
                    " An SMS to the citizen is queued; the running server sends it."
                } else {
                    ""
                }
            );
            Ok(())
        }
        AppealsCommand::Extend {
            number,
            reason,
            actor,
        } => {
            let appeal = get(&db, &number)?;
            let schedule = config
                .schedule()
                .map_err(|e| anyhow::anyhow!("hours.{e}"))?;
            let due = crate::deadlines::Deadlines::new(config.deadlines.clone(), schedule)
                .extended_due_at(&appeal.topic, appeal.created_at);
            change(
                &db,
                &number,
                |tx, who| db::extend(tx, &number, who, &reason, due, Utc::now()),
                &actor,
            )?;
            println!(
                "Appeal {number} is now due {}.",
                due.format("%Y-%m-%d %H:%M UTC")
            );
            Ok(())
        }
        AppealsCommand::Close {
            number,
            reason,
            actor,
        } => {
            change(
                &db,
                &number,
                |tx, who| db::close(tx, &number, who, reason.as_deref(), Utc::now()),
                &actor,
            )?;
            println!("Appeal {number} is closed.");
            Ok(())
        }
    }
}

fn read_text(path: &PathBuf) -> anyhow::Result<String> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the answer from standard input (UTF-8 text expected)")?;
    } else {
        text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the answer from {} (a UTF-8 text file expected)",
                path.display()
            )
        })?;
    }
    Ok(text)
}

fn get(db: &Db, number: &str) -> anyhow::Result<db::AppealRow> {
    db.read(|c| db::get_appeal(c, number))?.ok_or_else(|| {
        anyhow::anyhow!("there is no appeal {number:?}; `senim-callcentre appeals list` shows them")
    })
}

/// Runs one lifecycle change in a transaction; a refusal becomes the error to print.
fn change<T>(
    db: &Db,
    number: &str,
    f: impl FnOnce(&crate::db::sql::Transaction<'_>, Actor<'_>) -> Result<T, LifecycleError>,
    actor: &str,
) -> anyhow::Result<T> {
    let result = db.write(|tx| {
        f(
            tx,
            Actor {
                name: actor,
                address: None,
            },
        )
    });
    match result {
        Ok(v) => Ok(v),
        Err(LifecycleError::NoSuchAppeal) => Err(anyhow::anyhow!(
            "there is no appeal {number:?}; `senim-callcentre appeals list` shows them"
        )),
        Err(e) => Err(anyhow::anyhow!("appeal {number}: {e} Nothing was changed.")),
    }
}

fn json_of(a: &db::AppealRow) -> serde_json::Value {
    serde_json::json!({
        "id": a.id,
        "kiosk_id": a.kiosk_id,
        "site": a.site,
        "topic": a.topic,
        "status": a.status,
        "created_at": a.created_at,
        "due_at": a.due_at,
        "answered_at": a.answer.as_ref().map(|x| x.at),
        "assigned_to": a.assigned_to,
        "closed_at": a.closed_at,
        "anticorruption": a.anticorruption,
        "test": a.test,
        "interrupted": a.interrupted,
        "video_bytes": a.video_bytes,
        "video_sha256": a.video_sha256,
        // A live call: its length, operator and outcome (null otherwise).
        "call": a.call.as_ref().map(|c| serde_json::json!({
            "secs": c.secs,
            "operator": c.operator,
            "outcome": c.outcome,
        })),
    })
}

fn list(db: &Db, json: bool) -> anyhow::Result<()> {
    let appeals = db.read(|c| db::list_appeals(c, &[]))?;
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<serde_json::Value> = appeals.iter().map(json_of).collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        return Ok(());
    }
    for a in appeals {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\tdue {}\t{}{}{}",
            a.id,
            a.created_at.format("%Y-%m-%d %H:%M"),
            a.kiosk_id,
            a.topic,
            a.status,
            a.due_at.format("%Y-%m-%d %H:%M"),
            a.video_bytes
                .map(|b| format!("video {b} bytes"))
                .unwrap_or_else(|| "no video yet".into()),
            match &a.call {
                Some(c) => format!(
                    "\tlive call {}",
                    c.secs
                        .map(|s| format!("{}:{:02}", s / 60, s % 60))
                        .unwrap_or_else(|| "(length unknown)".into())
                ),
                None => String::new(),
            },
            if a.test { "\tTEST" } else { "" }
        )?;
    }
    Ok(())
}

fn show(db: &Db, number: &str, json: bool) -> anyhow::Result<()> {
    let appeal = get(db, number)?;
    let events = db.read(|c| db::appeal_events(c, number))?;
    db.write(|tx| {
        db::audit(
            tx,
            &db::AuditEntry {
                actor: Some("cli"),
                action: "appeal_view",
                appeal_id: Some(number),
                ..db::AuditEntry::default()
            },
            Utc::now(),
        )
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = json_of(&appeal);
        value["language"] = appeal.language.clone().into();
        value["text"] = appeal.text.clone().into();
        value["answer"] = appeal
            .answer
            .as_ref()
            .map(|x| {
                serde_json::json!({
                    "text": x.text, "language": x.language, "at": x.at, "by": x.by,
                })
            })
            .unwrap_or(serde_json::Value::Null);
        value["close_reason"] = appeal.close_reason.clone().into();
        value["due_extended_reason"] = appeal.due_extended_reason.clone().into();
        value["history"] = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "at": e.at, "operator": e.operator, "action": e.action,
                    "from_status": e.from_status, "to_status": e.to_status, "note": e.note,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    let a = &appeal;
    writeln!(out, "Appeal {} ({}), {}", a.id, a.topic, a.status)?;
    writeln!(out, "Left {} at {} ({})", a.created_at, a.site, a.kiosk_id)?;
    writeln!(out, "Due {}", a.due_at)?;
    if let Some(to) = &a.assigned_to {
        writeln!(out, "Assigned to {to}")?;
    }
    if let Some(answer) = &a.answer {
        writeln!(
            out,
            "Answered {} by {} ({}):\n{}",
            answer.at, answer.by, answer.language, answer.text
        )?;
    }
    if let Some(at) = a.closed_at {
        writeln!(
            out,
            "Closed {at}{}",
            a.close_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "History:")?;
    for e in events {
        writeln!(
            out,
            "  {}\t{}\t{}{}{}",
            e.at,
            e.operator,
            e.action,
            match (&e.from_status, &e.to_status) {
                (Some(f), Some(t)) if f != t => format!("\t{f} -> {t}"),
                _ => String::new(),
            },
            e.note.map(|n| format!("\t{n}")).unwrap_or_default()
        )?;
    }
    Ok(())
}
