//! `senim-callcentre operator …`: add accounts (with roles and sites), disable and enable them,
//! reset passwords, change roles and sites, list them. Each change is in the audit with the
//! command line as its actor, and disabling or a new password ends the operator's sessions.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;
use clap::{Subcommand, ValueEnum};

use crate::config::Config;
use crate::db::{self, By, Change, Roles, CLI_ACTOR};
use crate::secrets;

/// A role, as `--role` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Operators, kiosks, enrolment codes, the audit.
    Admin,
    /// The appeal queue and live calls.
    Operator,
    /// The separate queue of bribe and improper-demand reports.
    Anticorruption,
}

fn roles(args: &[RoleArg]) -> Roles {
    let mut roles = Roles::default();
    for r in args {
        match r {
            RoleArg::Admin => roles.admin = true,
            RoleArg::Operator => roles.operator = true,
            RoleArg::Anticorruption => roles.anticorruption = true,
        }
    }
    roles
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; the password is read from standard input (one line) or --password-file.
    Add {
        username: String,
        /// The name shown in the console and in appeal histories (default: the username).
        #[arg(long, visible_alias = "display")]
        name: Option<String>,
        /// A role (repeat for several); default: operator.
        #[arg(long = "role", value_enum, value_name = "ROLE")]
        roles: Vec<RoleArg>,
        /// A site the operator may handle (repeat for several); none: every site.
        #[arg(long = "site", value_name = "SITE")]
        sites: Vec<String>,
        /// Read the password from the first line of this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Disable an account: it cannot sign in, and its open sessions end.
    Disable { username: String },
    /// Let a disabled account sign in again.
    Enable { username: String },
    /// Set a new password (standard input or --password-file); open sessions end.
    ResetPassword {
        username: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Give an operator exactly these roles.
    Roles {
        username: String,
        /// A role (repeat for several); none leaves the account with no role.
        #[arg(long = "role", value_enum, value_name = "ROLE")]
        roles: Vec<RoleArg>,
    },
    /// Limit an operator to exactly these sites; no --site: every site.
    Sites {
        username: String,
        #[arg(long = "site", value_name = "SITE")]
        sites: Vec<String>,
    },
    /// List operator accounts with their roles, sites and status.
    List {
        /// One JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
}

/// The password for `username`: the first line of `file`, or of standard input.
fn read_password(username: &str, file: Option<&Path>) -> anyhow::Result<String> {
    let mut line = String::new();
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file {}", path.display()))?;
            line = text.lines().next().unwrap_or("").to_string();
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!(
                    "Password for {username} (it is shown as you type; use a pipe to hide it): "
                );
            }
            stdin.lock().read_line(&mut line)?;
        }
    }
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.chars().count() < db::MIN_PASSWORD_CHARS {
        anyhow::bail!(
            "the password must be at least {} characters",
            db::MIN_PASSWORD_CHARS
        );
    }
    if password.len() > 256 {
        anyhow::bail!("the password must be at most 256 bytes");
    }
    secrets::hash_password(&password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

fn clean_sites(sites: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for s in sites {
        let site = crate::enrolment::site_name(s).ok_or_else(|| {
            anyhow::anyhow!("--site: give the site's name (1 to 200 characters, on one line)")
        })?;
        if !out.contains(&site) {
            out.push(site);
        }
    }
    out.sort();
    Ok(out)
}

fn apply(config: &Config, username: &str, change: &Change<'_>) -> anyhow::Result<()> {
    let db = super::open_db(config)?;
    let by = By {
        actor: Some(CLI_ACTOR),
        address: None,
    };
    db.write(|tx| db::change_operator(tx, username, change, by, Utc::now()))?;
    Ok(())
}

/// Runs `operator …`.
pub fn run(config: &Config, command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Add {
            username,
            name,
            roles: role_args,
            sites,
            password_file,
        } => {
            if !db::valid_username(&username) {
                anyhow::bail!("a username is 2 to 64 characters of a-z, 0-9, '.', '_' or '-'");
            }
            let display = name.unwrap_or_else(|| username.clone());
            if !db::valid_display_name(&display) {
                anyhow::bail!(
                    "--name: 1 to {} characters on one line",
                    db::MAX_DISPLAY_CHARS
                );
            }
            let sites = clean_sites(&sites)?;
            let roles = if role_args.is_empty() {
                Roles {
                    operator: true,
                    ..Roles::default()
                }
            } else {
                roles(&role_args)
            };
            let hash = read_password(&username, password_file.as_deref())?;
            apply(
                config,
                &username,
                &Change::Add {
                    display_name: display.trim(),
                    password_hash: &hash,
                    roles,
                    sites: &sites,
                },
            )?;
            println!("Operator {username} added ({}).", roles.names().join(", "));
        }
        OperatorCommand::Disable { username } => {
            apply(config, &username, &Change::Disable)?;
            println!("Operator {username} is disabled and signed out everywhere.");
        }
        OperatorCommand::Enable { username } => {
            apply(config, &username, &Change::Enable)?;
            println!("Operator {username} may sign in again.");
        }
        OperatorCommand::ResetPassword {
            username,
            password_file,
        } => {
            // Fail on an unknown name before asking for a password.
            let db = super::open_db(config)?;
            if !db.read(|c| db::operator_exists(c, &username))? {
                anyhow::bail!(db::OperatorError::Unknown(username));
            }
            let hash = read_password(&username, password_file.as_deref())?;
            apply(config, &username, &Change::Password(&hash))?;
            println!("Operator {username} has a new password and is signed out everywhere.");
        }
        OperatorCommand::Roles {
            username,
            roles: role_args,
        } => {
            let roles = roles(&role_args);
            apply(config, &username, &Change::Roles(roles))?;
            let names = roles.names();
            println!(
                "Operator {username}: {}.",
                if names.is_empty() {
                    "no role (cannot use the console)".to_string()
                } else {
                    names.join(", ")
                }
            );
        }
        OperatorCommand::Sites { username, sites } => {
            let sites = clean_sites(&sites)?;
            apply(config, &username, &Change::Sites(&sites))?;
            println!(
                "Operator {username}: {}.",
                if sites.is_empty() {
                    "every site".to_string()
                } else {
                    sites.join("; ")
                }
            );
        }
        OperatorCommand::List { json } => {
            let db = super::open_db(config)?;
            let list = db.read(db::list_operators)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                for o in list {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}",
                        o.username,
                        o.display_name,
                        o.roles.names().join(","),
                        if o.sites.is_empty() {
                            "every site".to_string()
                        } else {
                            o.sites.join("; ")
                        },
                        match o.disabled_at {
                            Some(t) => format!("disabled {}", t.format("%Y-%m-%d %H:%M UTC")),
                            None => "enabled".into(),
                        }
                    )?;
                }
            }
        }
    }
    Ok(())
}
