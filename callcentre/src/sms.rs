//! Telling the citizen their appeal was answered: answering queues, in the same transaction,
//! an SMS with a link to the status page (a link code of its own, only its hash kept), and the
//! sender task posts due messages to the `[sms]` HTTP gateway, retrying with a growing pause
//! when it is down. Without `[sms] url` nothing is queued; the answer is saved regardless.

use std::sync::Arc;
use std::time::Duration;

use crate::db::sql::{OptionalExtension, Transaction};
use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{Mutex, Notify};

use crate::config::{Config, SmsSection};
use crate::db::{self, Actor, Db, DbError, LifecycleError};

/// The first pause after a failed send; it doubles with each failure, up to
/// `[sms] max_retry_secs`.
const FIRST_RETRY_SECS: u64 = 30;
/// Messages sent per pass.
const BATCH: usize = 50;

/// A link code: 16 characters of [`senim_protocol::CHECK_CODE_ALPHABET`] (80 random bits), the
/// shape of the receipt's check code.
pub fn new_link_code() -> String {
    let alphabet = senim_protocol::CHECK_CODE_ALPHABET;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// The status page address for an appeal number and a code.
pub fn status_link(public_url: &str, number: &str, code: &str) -> String {
    format!("{}/s/{number}/{code}", public_url.trim_end_matches('/'))
}

/// The message text in `language` (`kk`, `ru`, else English).
pub fn message(sms: &SmsSection, language: &str, number: &str, link: &str) -> String {
    let template = match language {
        "kk" => &sms.template_kk,
        "ru" => &sms.template_ru,
        _ => &sms.template_en,
    };
    template.replace("{number}", number).replace("{link}", link)
}

/// Queues the "your appeal was answered" SMS for an answered appeal with a callback phone,
/// when SMS are on: a new link code (its hash in `status_links`) and the message in the
/// answer's language. Whether one was queued.
pub fn queue_answer_sms(
    tx: &Transaction<'_>,
    config: &Config,
    appeal_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    if !config.sms.enabled() {
        return Ok(false);
    }
    let row: Option<(Option<String>, Option<String>, String)> = tx
        .query_row(
            "SELECT callback_phone, answer_language, language FROM appeals WHERE id = ?1",
            [appeal_id],
            |r| {
                Ok((
                    crate::sealing::open_at_rest(r.get(0)?),
                    r.get(1)?,
                    r.get(2)?,
                ))
            },
        )
        .optional()?;
    let Some((Some(phone), answer_language, language)) = row else {
        return Ok(false);
    };
    if phone.trim().is_empty() || phone == crate::sealing::UNREADABLE {
        return Ok(false);
    }
    let code = new_link_code();
    db::store_status_link(
        tx,
        appeal_id,
        &crate::secrets::sha256_hex(code.as_bytes()),
        now,
    )?;
    let link = status_link(&config.server.public_url, appeal_id, &code);
    let text = message(
        &config.sms,
        answer_language.as_deref().unwrap_or(&language),
        appeal_id,
        &link,
    );
    // The citizen's phone and the message (which names the appeal) sealed at rest like the
    // appeal's own fields; opened again only to be sent.
    db::queue_sms(
        tx,
        appeal_id,
        &crate::sealing::seal_for_rest(&phone),
        &crate::sealing::seal_for_rest(&text),
        now,
    )?;
    Ok(true)
}

/// Answers an appeal (see [`db::answer`]) and queues its SMS, in one transaction; whether an
/// SMS was queued.
pub fn answer(
    tx: &Transaction<'_>,
    config: &Config,
    appeal_id: &str,
    actor: Actor<'_>,
    text: &str,
    language: &str,
    now: DateTime<Utc>,
) -> Result<bool, LifecycleError> {
    db::answer(tx, appeal_id, actor, text, language, now)?;
    Ok(queue_answer_sms(tx, config, appeal_id, now)?)
}

/// What one pass of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
}

/// The outbox's sender: the gateway client, a wake-up for new messages, and a lock so that
/// one pass at a time sends.
pub struct Outbox {
    db: Arc<Db>,
    sms: SmsSection,
    client: Option<reqwest::Client>,
    wake: Notify,
    sending: Mutex<()>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("sms", &self.sms).finish()
    }
}

impl Outbox {
    pub fn new(db: Arc<Db>, sms: SmsSection) -> Outbox {
        let client = sms.enabled().then(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(sms.timeout_secs))
                .build()
                .unwrap_or_default()
        });
        Outbox {
            db,
            sms,
            client,
            wake: Notify::new(),
            sending: Mutex::new(()),
        }
    }

    /// A message was queued: send it now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The pause before try number `attempts + 1` after `attempts` failures.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let secs = FIRST_RETRY_SECS
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
            .min(self.sms.max_retry_secs);
        Duration::from_secs(secs)
    }

    /// Sends every message due at `now` (tests pass a later `now` instead of waiting).
    pub async fn send_due(&self, now: DateTime<Utc>) -> Result<SendReport, DbError> {
        let Some(client) = &self.client else {
            return Ok(SendReport::default());
        };
        let _one = self.sending.lock().await;
        let due = db::read(&self.db, move |c| db::due_sms(c, now, BATCH)).await?;
        let mut report = SendReport::default();
        for mut sms in due {
            sms.phone = crate::sealing::open_at_rest(Some(sms.phone)).unwrap_or_default();
            sms.body = crate::sealing::open_at_rest(Some(sms.body)).unwrap_or_default();
            if sms.phone == crate::sealing::UNREADABLE {
                tracing::warn!(
                    sms = sms.id,
                    "an SMS sealed to a key the key file no longer holds is not sent"
                );
                continue;
            }
            let result = self.post(client, &sms).await;
            let id = sms.id;
            match result {
                Ok(()) => {
                    db::write(&self.db, move |tx| db::sms_sent(tx, id, Utc::now())).await?;
                    tracing::info!(sms = id, appeal = %sms.appeal_id, "SMS handed to the gateway");
                    report.sent += 1;
                }
                Err(error) => {
                    let pause = self.backoff(sms.attempts + 1);
                    let next = Utc::now()
                        + chrono::Duration::from_std(pause)
                            .unwrap_or_else(|_| chrono::Duration::hours(1));
                    tracing::warn!(sms = id, appeal = %sms.appeal_id, attempts = sms.attempts + 1,
                        retry_in_secs = pause.as_secs(), error = %error,
                        "the SMS gateway did not take a message; it stays queued");
                    db::write(&self.db, move |tx| db::sms_failed(tx, id, &error, next)).await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    async fn post(&self, client: &reqwest::Client, sms: &db::OutgoingSms) -> Result<(), String> {
        let mut request = client.post(&self.sms.url).json(&serde_json::json!({
            "to": sms.phone,
            "text": sms.body,
            "sender": self.sms.sender,
        }));
        if !self.sms.username.is_empty() {
            request = request.basic_auth(&self.sms.username, Some(&self.sms.password));
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("the gateway answered {}", r.status())),
            // Without the URL: it may carry credentials in its query.
            Err(e) => Err(format!("cannot reach the gateway: {}", e.without_url())),
        }
    }

    /// Sends due messages whenever one is queued here or a retry falls due, and looks at
    /// least every 30 s (for messages another process, the command line, queued), until the
    /// task is stopped. Does nothing when SMS are off.
    pub async fn run(self: Arc<Self>) {
        if self.client.is_none() {
            return;
        }
        loop {
            if let Err(e) = self.send_due(Utc::now()).await {
                tracing::error!(error = %e, "the SMS outbox could not be read or updated");
            }
            let next = db::read(&self.db, db::next_sms_at).await.unwrap_or(None);
            let pause = match next {
                Some(at) => (at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_millis(200)),
                None => Duration::from_secs(30),
            };
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(pause.min(Duration::from_secs(30))) => {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_code_has_the_shape_of_a_check_code() {
        let a = new_link_code();
        assert!(senim_protocol::valid_check_code(&a), "{a}");
        assert_ne!(a, new_link_code());
    }

    #[test]
    fn the_message_follows_the_language_and_fills_the_number_and_link() {
        let sms = SmsSection::default();
        let link = status_link(
            "https://senim.example.kz/",
            "A-7Q2M9XK3",
            "ABCDEFGHIJKLMNOP",
        );
        assert_eq!(
            link,
            "https://senim.example.kz/s/A-7Q2M9XK3/ABCDEFGHIJKLMNOP"
        );
        let kk = message(&sms, "kk", "A-7Q2M9XK3", &link);
        assert!(kk.contains("өтінішіңізге") && kk.contains(&link) && kk.contains("A-7Q2M9XK3"));
        assert!(message(&sms, "ru", "A-1", &link).contains("обращение A-1"));
        assert!(message(&sms, "en", "A-1", &link).contains("your appeal A-1"));
    }

    #[test]
    fn retries_back_off_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let sms = SmsSection {
            max_retry_secs: 100,
            ..SmsSection::default()
        };
        let outbox = Outbox::new(db, sms);
        assert_eq!(outbox.backoff(1), Duration::from_secs(30));
        assert_eq!(outbox.backoff(2), Duration::from_secs(60));
        assert_eq!(outbox.backoff(3), Duration::from_secs(100));
        assert_eq!(outbox.backoff(40), Duration::from_secs(100));
    }
}
