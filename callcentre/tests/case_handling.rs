//! Case handling without a browser: the lifecycle's allowed and refused transitions (a refusal
//! changes nothing), history and audit rows for every change, assigning only to colleagues
//! who may take the appeal, deadlines in working days at ingest, 403s (logged) for appeals
//! outside an operator's role or sites, and the `appeals` command line.
//!
//! Over 600 lines: every transition and refusal of the lifecycle, each checked for what it
//! left in the history and the audit, shares one fixture.

mod common;

use chrono::{DateTime, Utc};
use common::{appeal, appeal_id, console_csrf, http_sign_in_as, test_config, TestServer};
use reqwest::StatusCode;
use senim_callcentre::db::{self, Actor, LifecycleError, Roles};
use serde_json::json;

const PASSWORD: &str = "demo-password-1";

/// A server with a kiosk at "City Hospital No. 4", operators with various rights, a complaint
/// in Kazakh (appeal 1) and a bribe report (appeal 2).
async fn server_with_appeals(mut config: senim_callcentre::config::Config) -> (TestServer, String) {
    config.hours = senim_callcentre::config::kazakhstan_hours();
    let server = TestServer::start_with(config, None).await;
    server.operator("aigerim", PASSWORD, "Aigerim Sadykova");
    server.operator("bolat", PASSWORD, "Bolat Nurov");
    server.operator("dana", PASSWORD, "Dana Akhmetova");
    server.operator("erlan", PASSWORD, "Erlan Omarov");
    server
        .state
        .db
        .write(|tx| {
            db::set_roles(
                tx,
                "dana",
                Roles {
                    anticorruption: true,
                    ..Roles::default()
                },
            )?;
            tx.execute(
                "INSERT INTO operator_sites (username, site) VALUES ('bolat', 'Other clinic')",
                [],
            )?;
            tx.execute(
                "UPDATE operators SET disabled_at = '2026-01-01T00:00:00.000Z' \
                 WHERE username = 'erlan'",
                [],
            )?;
            Ok::<_, db::DbError>(())
        })
        .unwrap();
    let http = reqwest::Client::new();
    let (_, token) = server.enrol(&http, "City Hospital No. 4").await;
    let mut complaint = appeal("appeal-000001", &appeal_id(1), None);
    // Friday 11 December 2026, 10:00 in Almaty.
    complaint["record"]["created_at"] = json!("2026-12-11T05:00:00Z");
    let mut bribe = appeal("appeal-000002", &appeal_id(2), None);
    bribe["record"]["topic"] = json!("bribe_report");
    bribe["record"]["language"] = json!("ru");
    bribe["record"]["created_at"] = json!("2026-12-11T05:00:00Z");
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": [complaint, bribe] }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    (server, token)
}

fn row(server: &TestServer, id: &str) -> db::AppealRow {
    let id = id.to_string();
    server
        .state
        .db
        .read(move |c| db::get_appeal(c, &id))
        .unwrap()
        .unwrap()
}

/// (history rows, audit rows) of an appeal.
fn counts(server: &TestServer, id: &str) -> (i64, i64) {
    server
        .state
        .db
        .read(|c| {
            Ok((
                c.query_row(
                    "SELECT count(*) FROM appeal_events WHERE appeal_id = ?1",
                    [id],
                    |r| r.get(0),
                )?,
                c.query_row(
                    "SELECT count(*) FROM audit WHERE appeal_id = ?1",
                    [id],
                    |r| r.get(0),
                )?,
            ))
        })
        .unwrap()
}

fn audit_actions(server: &TestServer, id: &str) -> Vec<(String, String)> {
    server
        .state
        .db
        .read(|c| {
            let mut s = c.prepare(
                "SELECT coalesce(actor, ''), action FROM audit WHERE appeal_id = ?1 ORDER BY id",
            )?;
            let v = s
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(v)
        })
        .unwrap()
}

fn act<T>(
    server: &TestServer,
    who: &str,
    f: impl FnOnce(
        &senim_callcentre::db::sql::Transaction<'_>,
        Actor<'_>,
        DateTime<Utc>,
    ) -> Result<T, LifecycleError>,
) -> Result<T, LifecycleError> {
    server.state.db.write(|tx| {
        f(
            tx,
            Actor {
                name: who,
                address: None,
            },
            Utc::now(),
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appeal_moves_only_along_allowed_transitions_and_every_change_is_recorded() {
    let (server, _) = server_with_appeals(test_config()).await;
    let id = appeal_id(1);
    let before = row(&server, &id);
    assert_eq!(before.status, "new");

    // Refusals: each says why and changes nothing.
    let refused = |r: Result<(), LifecycleError>| r.unwrap_err().to_string();
    let unchanged = |server: &TestServer| {
        assert_eq!(row(server, &id), before);
        assert_eq!(counts(server, &id), (0, 0));
    };
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::answer(tx, &id, a, "Жауап", "kk", now)
    }));
    assert!(e.contains("Assign it first"), "{e}");
    unchanged(&server);
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::close(tx, &id, a, Some("   "), now)
    }));
    assert!(e.contains("write why it is closed without one"), "{e}");
    unchanged(&server);
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::assign(tx, &id, a, "erlan", now)
    }));
    assert!(e.contains("disabled"), "{e}");
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::assign(tx, &id, a, "bolat", now)
    }));
    assert!(
        e.contains("does not handle appeals from City Hospital No. 4"),
        "{e}"
    );
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::assign(tx, &id, a, "dana", now)
    }));
    assert!(e.contains("operator role"), "{e}");
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::assign(tx, &id, a, "nobody", now)
    }));
    assert!(e.contains("no operator “nobody”"), "{e}");
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::start_work(tx, &id, a, now)
    }));
    assert!(e.contains("status is “New”"), "{e}");
    unchanged(&server);

    // Assign → start → answer → close, each with a history row and an audit row.
    act(&server, "aigerim", |tx, a, now| {
        db::assign(tx, &id, a, "aigerim", now)
    })
    .unwrap();
    assert_eq!(row(&server, &id).status, "assigned");
    let e = refused(act(&server, "bolat", |tx, a, now| {
        db::start_work(tx, &id, a, now)
    }));
    assert!(e.contains("only they can start work"), "{e}");
    act(&server, "aigerim", |tx, a, now| {
        db::start_work(tx, &id, a, now)
    })
    .unwrap();
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::answer(tx, &id, a, "Жауап", "de", now)
    }));
    assert!(e.contains("kk, ru or en"), "{e}");
    act(&server, "aigerim", |tx, a, now| {
        db::answer(tx, &id, a, "  Сіздің өтінішіңіз қаралды.  ", "kk", now)
    })
    .unwrap();
    let answered = row(&server, &id);
    assert_eq!(answered.status, "answered");
    let answer = answered.answer.clone().unwrap();
    assert_eq!(
        (
            answer.text.as_str(),
            answer.language.as_str(),
            answer.by.as_str()
        ),
        ("Сіздің өтінішіңіз қаралды.", "kk", "aigerim")
    );
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::extend(tx, &id, a, "late", now, now)
    }));
    assert!(e.contains("Only an open appeal's deadline"), "{e}");
    act(&server, "aigerim", |tx, a, now| {
        db::close(tx, &id, a, None, now)
    })
    .unwrap();
    let closed = row(&server, &id);
    assert_eq!(closed.status, "closed");
    assert!(closed.closed_at.is_some() && closed.close_reason.is_none());
    let e = refused(act(&server, "aigerim", |tx, a, now| {
        db::close(tx, &id, a, Some("again"), now)
    }));
    assert!(e.contains("already closed"), "{e}");

    let key = id.clone();
    let events = server
        .state
        .db
        .read(move |c| db::appeal_events(c, &key))
        .unwrap();
    let moves: Vec<(&str, &str, Option<&str>, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.operator.as_str(),
                e.action.as_str(),
                e.from_status.as_deref(),
                e.to_status.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("aigerim", "assign", Some("new"), Some("assigned")),
            ("aigerim", "status", Some("assigned"), Some("in_progress")),
            ("aigerim", "answer", Some("in_progress"), Some("answered")),
            ("aigerim", "close", Some("answered"), Some("closed")),
        ]
    );
    assert!(events.iter().all(|e| !e.at.is_empty()));
    assert_eq!(
        audit_actions(&server, &id),
        ["assign", "status", "answer", "close"].map(|a| ("aigerim".to_string(), a.to_string()))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bribe_report_goes_only_to_anticorruption_and_an_open_appeal_closes_with_a_reason() {
    let (server, _) = server_with_appeals(test_config()).await;
    let id = appeal_id(2);
    assert!(row(&server, &id).anticorruption);
    let e = act(&server, "dana", |tx, a, now| {
        db::assign(tx, &id, a, "aigerim", now)
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("anti-corruption role"), "{e}");
    let choices = server
        .state
        .db
        .read(|c| db::assignable_operators(c, "City Hospital No. 4", true))
        .unwrap();
    assert_eq!(
        choices
            .iter()
            .map(|o| o.username.as_str())
            .collect::<Vec<_>>(),
        ["dana"]
    );
    let choices = server
        .state
        .db
        .read(|c| db::assignable_operators(c, "City Hospital No. 4", false))
        .unwrap();
    assert_eq!(
        choices
            .iter()
            .map(|o| o.username.as_str())
            .collect::<Vec<_>>(),
        ["aigerim"],
        "bolat is limited to another site, dana has no operator role, erlan is disabled"
    );
    act(&server, "dana", |tx, a, now| {
        db::assign(tx, &id, a, "dana", now)
    })
    .unwrap();
    let e = act(&server, "dana", |tx, a, now| {
        db::assign(tx, &id, a, "dana", now)
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("already assigned"), "{e}");
    // The deadline is extended once, to 30 days, with the reason on the row and in history.
    let due = row(&server, &id).due_at;
    let later = due + chrono::Duration::days(15);
    act(&server, "dana", |tx, a, now| {
        db::extend(tx, &id, a, "Waiting for the hospital's records", later, now)
    })
    .unwrap();
    let extended = row(&server, &id);
    assert_eq!(extended.due_at, later);
    assert_eq!(
        extended.due_extended_reason.as_deref(),
        Some("Waiting for the hospital's records")
    );
    let e = act(&server, "dana", |tx, a, now| {
        db::extend(tx, &id, a, "again", later, now)
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("only once"), "{e}");
    act(&server, "dana", |tx, a, now| {
        db::close(tx, &id, a, Some("The citizen withdrew the report"), now)
    })
    .unwrap();
    let closed = row(&server, &id);
    assert_eq!(closed.status, "closed");
    assert_eq!(
        closed.close_reason.as_deref(),
        Some("The citizen withdrew the report")
    );
    assert!(closed.answer.is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_in_working_days_skip_the_weekend_and_independence_day() {
    let mut config = test_config();
    config.deadlines.topics.insert(
        "complaint".into(),
        senim_callcentre::config::TopicDeadline {
            days: 3,
            count: senim_callcentre::config::DayCount::Working,
        },
    );
    let (server, _) = server_with_appeals(config).await;
    // Left Friday 11 December 10:00 (Almaty); Sat, Sun, and Wednesday 16 December
    // (Independence Day) do not count: Mon 14, Tue 15, Thu 17.
    assert_eq!(
        row(&server, &appeal_id(1)).due_at.to_rfc3339(),
        "2026-12-17T05:00:00+00:00"
    );
    // The bribe report keeps the default 15 calendar days.
    assert_eq!(
        row(&server, &appeal_id(2)).due_at.to_rfc3339(),
        "2026-12-26T05:00:00+00:00"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_outside_the_role_or_sites_gets_403_logged_and_views_are_audited() {
    let (server, _) = server_with_appeals(test_config()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (complaint, bribe) = (appeal_id(1), appeal_id(2));
    let aigerim = http_sign_in_as(&server, "aigerim", PASSWORD).await.unwrap();
    let bolat = http_sign_in_as(&server, "bolat", PASSWORD).await.unwrap();
    let get = |cookie: &str, path: String| {
        http.get(format!("{}{path}", server.url))
            .header("Cookie", cookie)
            .send()
    };
    // An ordinary operator: the bribe report is not theirs; a site-limited one: not this site.
    for (cookie, id) in [(&aigerim, &bribe), (&bolat, &complaint)] {
        let r = get(cookie, format!("/console/appeals/{id}")).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body = r.text().await.unwrap();
        assert!(!body.contains("880101300010") && !body.contains("+77011234567"));
        let r = get(cookie, format!("/console/appeals/{id}/video"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let csrf = console_csrf(&server, &bolat).await;
    let r = http
        .post(format!("{}/console/appeals/{complaint}/assign", server.url))
        .header("Cookie", &bolat)
        .form(&[("csrf", csrf.as_str()), ("to", "bolat")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .post(format!("{}/console/appeals/{complaint}/reveal", server.url))
        .header("Cookie", &bolat)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(row(&server, &complaint).status, "new");
    assert_eq!(
        audit_actions(&server, &complaint),
        [
            ("bolat", "forbidden"),
            ("bolat", "forbidden"),
            ("bolat", "forbidden"),
            ("bolat", "forbidden")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        audit_actions(&server, &bribe),
        [("aigerim", "forbidden"), ("aigerim", "forbidden")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    // A permitted view and reveal are audited.
    let r = get(&aigerim, format!("/console/appeals/{complaint}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csrf = console_csrf(&server, &aigerim).await;
    let r = http
        .post(format!("{}/console/appeals/{complaint}/reveal", server.url))
        .header("Cookie", &aigerim)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("880101300010"));
    let mine: Vec<String> = audit_actions(&server, &complaint)
        .into_iter()
        .filter(|(who, _)| who == "aigerim")
        .map(|(_, what)| what)
        .collect();
    assert_eq!(mine, ["appeal_view", "iin_reveal"]);

    // A refused transition over the console: 400 with the reason, nothing changed.
    let r = http
        .post(format!("{}/console/appeals/{complaint}/close", server.url))
        .header("Cookie", &aigerim)
        .header("Accept-Language", "en-GB,en;q=0.9")
        .form(&[("csrf", csrf.as_str()), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This appeal has no answer: write why it is closed without one."));
    assert_eq!(row(&server, &complaint).status, "new");
    server.stop().await;
}

fn cli(server: &TestServer, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(server.data())
        .args(common::postgres::store_args(server.data()))
        .args(args)
        .env("SENIM_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_assigns_answers_in_the_citizens_language_shows_and_closes() {
    let (server, _) = server_with_appeals(test_config()).await;
    let id = appeal_id(1);
    let out = cli(
        &server,
        &["appeals", "answer", &id, "--text-file", "/nonexistent"],
    );
    assert!(!out.status.success());
    let out = cli(&server, &["appeals", "assign", &id, "--to", "erlan"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disabled") && err.contains("Nothing was changed"),
        "{err}"
    );
    let out = cli(&server, &["appeals", "close", &id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("write why it is closed without one"), "{err}");
    let out = cli(
        &server,
        &["appeals", "assign", "A-NOSUCH00", "--to", "aigerim"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no appeal"));
    assert_eq!(row(&server, &id).status, "new");

    let out = cli(&server, &["appeals", "assign", &id, "--to", "aigerim"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = server.dir.path().join("answer.txt");
    std::fs::write(&file, "Сіздің өтінішіңіз қаралды, дәрігер ауыстырылды.\n").unwrap();
    let out = cli(
        &server,
        &[
            "appeals",
            "answer",
            &id,
            "--text-file",
            file.to_str().unwrap(),
            "--as",
            "aigerim",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&server, &["appeals", "show", &id, "--json"]);
    assert!(out.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["status"], "answered");
    assert_eq!(
        shown["answer"]["language"], "kk",
        "the citizen's language by default"
    );
    assert_eq!(shown["answer"]["by"], "aigerim");
    assert_eq!(
        shown["answer"]["text"],
        "Сіздің өтінішіңіз қаралды, дәрігер ауыстырылды."
    );
    assert_eq!(shown["history"][0]["operator"], "cli");
    assert_eq!(shown["history"][0]["action"], "assign");
    assert!(
        !out.stdout.windows(12).any(|w| w == b"880101300010"),
        "no IIN"
    );
    let out = cli(&server, &["appeals", "extend", &id, "--reason", "Late"]);
    assert!(!out.status.success(), "an answered appeal's deadline stays");
    let other = appeal_id(2);
    let out = cli(
        &server,
        &["appeals", "extend", &other, "--reason", "Records"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        row(&server, &other).due_at.to_rfc3339(),
        "2027-01-10T05:00:00+00:00",
        "30 calendar days from 11 December"
    );
    let out = cli(&server, &["appeals", "close", &id, "--reason", "Done"]);
    assert!(out.status.success());
    let out = cli(&server, &["appeals", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap();
    assert_eq!(first["status"], "closed");
    assert!(first["due_at"].is_string() && first["answered_at"].is_string());
    let other = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == appeal_id(2).as_str())
        .unwrap();
    assert_eq!(other["status"], "new");
    assert!(other["answered_at"].is_null());
    server.stop().await;
}

#[test]
fn statuses_and_refusals_read_in_kazakh_and_russian() {
    use senim_callcentre::i18n::Lang;
    assert_eq!(db::status_label(Lang::Kk, "answered"), "Жауап берілді");
    assert_eq!(db::status_label(Lang::Ru, "in_progress"), "В работе");
    assert_eq!(
        LifecycleError::ReasonNeeded.message(Lang::Ru),
        "На это обращение нет ответа: напишите, почему оно закрывается без ответа."
    );
    assert_eq!(
        LifecycleError::NotAllowed {
            action: db::Action::Answer,
            status: "new".into()
        }
        .message(Lang::Kk),
        "Тек тағайындалған немесе жұмыстағы өтінішке жауап беруге болады; бұл өтініштің \
         мәртебесі — «Жаңа». Алдымен оны тағайындаңыз."
    );
}
