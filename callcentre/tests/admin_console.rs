//! Roles and administration: an ordinary operator is refused the admin pages (403, a
//! `forbidden` row in the audit), an administrator adds an operator with roles and sites, sets
//! a new password and disables an account (whose open session stops working at once); failed
//! sign-ins are in the audit with the name tried and the address; `senim-callcentre audit
//! --json` lists it all. Plain HTTP for the rules, Chromium for the pages (screenshots in
//! `target/screenshots/console-admin-*.png`).
//!
//! Over 600 lines: three whole journeys (HTTP, Chromium, the command line), each checking
//! every step's audit row.

mod common;

use std::path::Path;
use std::process::Command;

use common::chromium::{browser, shot, sign_in, start_chromedriver};
use common::{console_csrf, http_sign_in_as, TestServer};
use fantoccini::Locator;
use senim_callcentre::db::{self, AuditRow};

const SITE: &str = "City Hospital No. 4, Almaty";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn audit_rows(server: &TestServer) -> Vec<AuditRow> {
    let now = chrono::Utc::now();
    server
        .state
        .db
        .read(|c| {
            db::list_audit(
                c,
                now - chrono::Duration::hours(1),
                now + chrono::Duration::hours(1),
                1000,
                0,
            )
        })
        .unwrap()
}

fn cli_audit_json(data: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(data)
        .args(common::postgres::store_args(data))
        .args(["audit", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_enforced_and_disabling_ends_the_session() {
    // This scenario fails a few sign-ins of one name on purpose; the sign-in throttle
    // (tests/console_door.rs) is not what it checks, so its free attempts are raised.
    let mut config = common::test_config();
    config.console.signin_free_attempts = 9;
    let server = TestServer::start_with(config, None).await;
    server.admin("boss", "boss-password-1", "Saule Admin");
    server.operator("aigerim", "demo-password-1", "Aigerim Sadykova");
    let http = no_redirects();

    // An ordinary operator: the queue yes, every admin page and action no.
    let aigerim = http_sign_in_as(&server, "aigerim", "demo-password-1")
        .await
        .unwrap();
    let queue = http
        .get(format!("{}/console", server.url))
        .header("Cookie", &aigerim)
        .send()
        .await
        .unwrap();
    assert_eq!(queue.status(), 200);
    let menu = queue.text().await.unwrap();
    assert!(
        !menu.contains("/console/admin/operators") && !menu.contains("/console/fleet"),
        "the menu offers no admin page to an ordinary operator"
    );
    let csrf = console_csrf(&server, &aigerim).await;
    for path in [
        "/console/admin/operators",
        "/console/admin/audit",
        "/console/admin/operators/boss",
        "/console/fleet",
    ] {
        let r = http
            .get(format!("{}{path}", server.url))
            .header("Cookie", &aigerim)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = http
        .post(format!(
            "{}/console/admin/operators/boss/disable",
            server.url
        ))
        .header("Cookie", &aigerim)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{}/console/fleet/enrol", server.url))
        .header("Cookie", &aigerim)
        .form(&[("csrf", csrf.as_str()), ("site", "X"), ("mode", "hospital")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let boss = server
        .state
        .db
        .read(|c| db::get_operator(c, "boss"))
        .unwrap()
        .unwrap();
    assert!(
        boss.disabled_at.is_none(),
        "the refused action changed nothing"
    );
    let forbidden: Vec<AuditRow> = audit_rows(&server)
        .into_iter()
        .filter(|r| r.action == "forbidden")
        .collect();
    assert_eq!(forbidden.len(), 6, "{forbidden:?}");
    assert!(forbidden.iter().all(
        |r| r.actor.as_deref() == Some("aigerim") && r.address.as_deref() == Some("127.0.0.1")
    ));
    assert!(forbidden
        .iter()
        .any(|r| r.detail.as_deref() == Some("/console/admin/operators/boss/disable")));

    // An administrator without the appeal roles: the admin pages yes, the queue no.
    server.operator_with_roles("auditor", "audit-password-1", "Auditor", &["admin"]);
    let auditor = http_sign_in_as(&server, "auditor", "audit-password-1")
        .await
        .unwrap();
    for (path, status) in [
        ("/console/admin/audit", 200),
        ("/console/admin/operators", 200),
        ("/console", 403),
        ("/console/guides", 403),
    ] {
        let r = http
            .get(format!("{}{path}", server.url))
            .header("Cookie", &auditor)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
    server
        .state
        .db
        .write(|tx| db::set_disabled(tx, "auditor", true, chrono::Utc::now()))
        .unwrap();

    // A failed sign-in: the name tried and the address.
    assert!(http_sign_in_as(&server, "mallory", "guess-password-1")
        .await
        .is_none());
    assert!(http_sign_in_as(&server, "aigerim", "wrong-password-1")
        .await
        .is_none());

    // The administrator disables aigerim: her open session stops working at once.
    let boss_cookie = http_sign_in_as(&server, "boss", "boss-password-1")
        .await
        .unwrap();
    let boss_csrf = console_csrf(&server, &boss_cookie).await;
    let r = http
        .post(format!(
            "{}/console/admin/operators/aigerim/disable",
            server.url
        ))
        .header("Cookie", &boss_cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a forged form is refused");
    let r = http
        .post(format!(
            "{}/console/admin/operators/aigerim/disable",
            server.url
        ))
        .header("Cookie", &boss_cookie)
        .form(&[("csrf", boss_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = http
        .get(format!("{}/console", server.url))
        .header("Cookie", &aigerim)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/login");
    assert!(
        http_sign_in_as(&server, "aigerim", "demo-password-1")
            .await
            .is_none(),
        "a disabled operator cannot sign in"
    );
    // The last administrator cannot disable themselves.
    let r = http
        .post(format!(
            "{}/console/admin/operators/boss/disable",
            server.url
        ))
        .header("Cookie", &boss_cookie)
        .header("Accept-Language", "ru-KZ,ru;q=0.9")
        .form(&[("csrf", boss_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("не останется ни одного активного администратора"));

    // Enabled again with a new password: the old one no longer works.
    for (path, form) in [
        ("enable", vec![("csrf", boss_csrf.as_str())]),
        (
            "password",
            vec![
                ("csrf", boss_csrf.as_str()),
                ("password", "fresh-password-2"),
            ],
        ),
    ] {
        let r = http
            .post(format!(
                "{}/console/admin/operators/aigerim/{path}",
                server.url
            ))
            .header("Cookie", &boss_cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{path}");
    }
    assert!(http_sign_in_as(&server, "aigerim", "demo-password-1")
        .await
        .is_none());
    assert!(http_sign_in_as(&server, "aigerim", "fresh-password-2")
        .await
        .is_some());

    // Roles and sites from the operator's page (repeated `role` and `site` fields).
    let r = http
        .post(format!(
            "{}/console/admin/operators/aigerim/access",
            server.url
        ))
        .header("Cookie", &boss_cookie)
        .form(&[
            ("csrf", boss_csrf.as_str()),
            ("display_name", "Aigerim S."),
            ("role", "operator"),
            ("role", "anticorruption"),
            ("site", SITE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let row = server
        .state
        .db
        .read(|c| db::get_operator(c, "aigerim"))
        .unwrap()
        .unwrap();
    assert_eq!(row.display_name, "Aigerim S.");
    assert_eq!(row.roles.names(), ["operator", "anticorruption"]);
    assert_eq!(row.sites, [SITE]);
    let r = http
        .post(format!(
            "{}/console/admin/operators/aigerim/access",
            server.url
        ))
        .header("Cookie", &boss_cookie)
        .form(&[
            ("csrf", boss_csrf.as_str()),
            ("display_name", "Aigerim S."),
            ("role", "superuser"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an unknown role is refused");

    let actions: Vec<(Option<String>, String, Option<String>)> = audit_rows(&server)
        .into_iter()
        .map(|r| (r.actor, r.action, r.target))
        .collect();
    for (actor, action, target) in [
        ("boss", "operator_disable", Some("aigerim")),
        ("boss", "operator_enable", Some("aigerim")),
        ("boss", "password_reset", Some("aigerim")),
        ("boss", "operator_roles", Some("aigerim")),
        ("boss", "operator_sites", Some("aigerim")),
        ("boss", "operator_name", Some("aigerim")),
        ("boss", "sign_in", None),
        ("aigerim", "sign_in", None),
    ] {
        assert!(
            actions.contains(&(
                Some(actor.to_string()),
                action.to_string(),
                target.map(str::to_owned)
            )),
            "{actor} {action}: {actions:?}"
        );
    }

    // The command line lists the same trail, with the failed sign-ins' names and address.
    let data = server.data();
    let json = tokio::task::spawn_blocking(move || cli_audit_json(&data))
        .await
        .unwrap();
    let rows = json.as_array().unwrap();
    let failed: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["action"] == "sign_in_failed")
        .collect();
    assert!(
        failed
            .iter()
            .any(|r| r["actor"] == "mallory" && r["address"] == "127.0.0.1"),
        "{failed:?}"
    );
    assert!(failed.iter().any(|r| r["actor"] == "aigerim"));
    assert!(rows
        .iter()
        .any(|r| r["action"] == "forbidden" && r["actor"] == "aigerim"));
    assert!(rows
        .iter()
        .any(|r| r["action"] == "operator_disable" && r["target"] == "aigerim"));
    // Oldest first.
    let times: Vec<&str> = rows.iter().map(|r| r["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_manages_operators_and_reads_the_audit_in_the_browser() {
    let server = TestServer::start().await;
    server.admin("boss", "boss-password-1", "Saule Admin");
    server.operator("bolat", "demo-password-1", "Bolat Nurov");
    let http = reqwest::Client::new();
    server.enrol(&http, SITE).await;
    let (astana, _) = server
        .enrol(&http, "Public Service Centre No. 2, Astana")
        .await;

    let driver = start_chromedriver();
    let c = browser(&driver, &[]).await;

    // An ordinary operator sees no admin entries and gets the 403 page.
    sign_in(&c, &server.url, "bolat", "demo-password-1").await;
    let nav = c
        .wait()
        .for_element(Locator::Css("header.top nav"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !nav.contains("Operators") && !nav.contains("Kiosks"),
        "{nav}"
    );
    c.goto(&format!("{}/console/admin/operators", server.url))
        .await
        .unwrap();
    let refusal = c
        .wait()
        .for_element(Locator::Css(".error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(refusal.contains("not for your role"), "{refusal}");
    shot(&c, "admin-forbidden").await;
    c.delete_all_cookies().await.unwrap();

    // The administrator adds an operator limited to one site, with two roles.
    sign_in(&c, &server.url, "boss", "boss-password-1").await;
    c.wait()
        .for_element(Locator::Css(
            "header.top nav a[href='/console/admin/operators']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#add-operator summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for (name, value) in [
        ("username", "dana"),
        ("display_name", "Dana Ospanova"),
        ("password", "dana-password-1"),
    ] {
        c.find(Locator::Css(&format!("#add-operator input[name={name}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#add-operator input[value=anticorruption]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css(&format!(
        "#add-operator select[name=site] option[value='{SITE}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    shot(&c, "admin-add-operator").await;
    c.find(Locator::Css("#add-operator button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The operator's own page (its access form) once the add went through.
    c.wait()
        .for_element(Locator::Css("form#access"))
        .await
        .unwrap();
    let notice = c
        .wait()
        .for_element(Locator::Css("p.saved"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(notice.contains("operator is added"), "{notice}");
    let dana = server
        .state
        .db
        .read(|c| db::get_operator(c, "dana"))
        .unwrap()
        .unwrap();
    assert_eq!(dana.roles.names(), ["operator", "anticorruption"]);
    assert_eq!(dana.sites, [SITE]);
    shot(&c, "admin-operator").await;

    // Disable bolat from his page.
    c.goto(&format!("{}/console/admin/operators/bolat", server.url))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#status button.danger"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#status button.primary"))
        .await
        .unwrap();
    c.goto(&format!("{}/console/admin/operators", server.url))
        .await
        .unwrap();
    let row = c
        .wait()
        .for_element(Locator::Css("tr[data-operator=bolat]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("Disabled"), "{row}");
    shot(&c, "admin-operators").await;

    // Revoke the Astana kiosk from the fleet page.
    c.find(Locator::Css("header.top nav a[href='/console/fleet']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let row_of_astana = format!("tr[data-kiosk='{astana}']");
    c.wait()
        .for_element(Locator::Css(&format!(
            "{row_of_astana} details.revoke summary"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shot(&c, "admin-fleet-revoke").await;
    c.find(Locator::Css(&format!(
        "{row_of_astana} details.revoke button"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    c.wait()
        .for_element(Locator::Css(&format!("{row_of_astana} .badge.fail")))
        .await
        .unwrap();
    let kiosks = server.state.db.read(db::list_kiosks).unwrap();
    assert_eq!(
        kiosks.iter().filter(|k| k.revoked).count(),
        1,
        "only the Astana kiosk is revoked"
    );

    // The audit page: newest first, bolat's refusal and his disabling on it.
    c.find(Locator::Css(
        "header.top nav a[href='/console/admin/audit']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let table = c
        .wait()
        .for_element(Locator::Css("table.audit"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "kiosk_revoke",
        astana.as_str(),
        "operator_disable",
        "operator_add",
        "forbidden",
        "bolat",
        "dana",
        "127.0.0.1",
    ] {
        assert!(table.contains(expected), "{expected} in {table}");
    }
    let first = c
        .find(Locator::Css("table.audit tbody tr"))
        .await
        .unwrap()
        .attr("data-action")
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("kiosk_revoke"), "newest first");
    shot(&c, "admin-audit").await;

    // In the operator's language: Kazakh.
    server
        .state
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE operators SET language = 'kk' WHERE username = 'boss'",
                [],
            )
        })
        .unwrap();
    c.goto(&format!("{}/console/admin/operators/bolat", server.url))
        .await
        .unwrap();
    let button = c
        .wait()
        .for_element(Locator::Css("#status button"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(button, "Есептік жазбаны қосу");
    shot(&c, "admin-operator-kk").await;

    c.close().await.unwrap();
    server.stop().await;
}

fn cli(data: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_senim-callcentre"))
        .arg("--data")
        .arg(data)
        .args(common::postgres::store_args(data))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_manages_operators_and_its_changes_are_audited() {
    let server = TestServer::start().await;
    let (kiosk, _) = server.enrol(&reqwest::Client::new(), SITE).await;
    let data = server.data();
    let password_file = data.join("boss-password");
    std::fs::write(&password_file, "boss-password-1\n").unwrap();
    tokio::task::spawn_blocking(move || {
        let ok = |args: &[&str], stdin: &str| {
            let out = cli(&data, args, stdin);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let refused = |args: &[&str], stdin: &str| {
            let out = cli(&data, args, stdin);
            assert!(!out.status.success(), "{args:?} should be refused");
            String::from_utf8(out.stderr).unwrap()
        };
        let file = password_file.to_str().unwrap();
        ok(
            &[
                "operator",
                "add",
                "boss",
                "--name",
                "Saule",
                "--role",
                "admin",
                "--role",
                "operator",
                "--password-file",
                file,
            ],
            "",
        );
        // The old form still works: the password on standard input, the operator role.
        ok(
            &["operator", "add", "aigerim", "--name", "Aigerim"],
            "demo-password-1\n",
        );
        assert!(refused(&["operator", "add", "aigerim"], "demo-password-1\n").contains("already"));
        assert!(refused(&["operator", "add", "dana"], "short\n").contains("at least 10"));
        assert!(refused(&["operator", "roles", "aigerim", "--role", "root"], "").contains("root"));
        ok(
            &[
                "operator",
                "roles",
                "aigerim",
                "--role",
                "operator",
                "--role",
                "anticorruption",
            ],
            "",
        );
        ok(&["operator", "sites", "aigerim", "--site", SITE], "");
        assert!(refused(&["operator", "disable", "boss"], "").contains("no enabled administrator"));
        ok(&["operator", "disable", "aigerim"], "");
        ok(
            &["operator", "reset-password", "aigerim"],
            "another-password-2\n",
        );
        assert!(refused(&["operator", "enable", "ghost"], "").contains("no operator \"ghost\""));
        let list: serde_json::Value =
            serde_json::from_str(&ok(&["operator", "list", "--json"], "")).unwrap();
        let aigerim = &list[0];
        assert_eq!(aigerim["username"], "aigerim");
        assert_eq!(
            aigerim["roles"],
            serde_json::json!(["operator", "anticorruption"])
        );
        assert_eq!(aigerim["sites"], serde_json::json!([SITE]));
        assert!(aigerim["disabled_at"].is_string());
        assert_eq!(list[1]["roles"], serde_json::json!(["admin", "operator"]));

        ok(&["enrol-code", "--site", "Clinic 7"], "");
        ok(&["kiosk", "revoke", &kiosk], "");

        let text = ok(&["audit"], "");
        assert!(text
            .lines()
            .any(|l| l.contains("(command line)\tkiosk_revoke") && l.contains(&kiosk)));
        let rows = cli_audit_json(&data);
        let actions: Vec<(&str, &str)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["action"].as_str().unwrap(),
                    r["target"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("operator_add", "boss"),
                ("operator_add", "aigerim"),
                ("operator_roles", "aigerim"),
                ("operator_sites", "aigerim"),
                ("operator_disable", "aigerim"),
                ("password_reset", "aigerim"),
                ("enrol_code", "Clinic 7"),
                ("kiosk_revoke", kiosk.as_str()),
            ],
            "every change once, oldest first; refused ones leave nothing"
        );
        assert!(
            refused(&["audit", "--from", "2026-12-31", "--to", "2026-01-01"], "").contains("after")
        );
    })
    .await
    .unwrap();
    server.stop().await;
}
