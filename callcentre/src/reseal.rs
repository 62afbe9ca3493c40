//! At start, seals the personal values a database holds from before sealing at rest (issue 19): appeals' IIN, phone and text, and the SMS outbox's phone and message.
//!
//! Values already sealed (`age:…`) and empty ones are left alone, so the pass is cheap once
//! done and safe to repeat; it runs in one transaction, and `secure_delete` (on for every
//! connection) and the checkpoint after it leave no plaintext page behind.

use std::sync::Arc;

use crate::db::sql::params;

use crate::db::{self, DbError};
use crate::sealing::{seal_at_rest, AT_REST_PREFIX};
use crate::state::AppState;

/// The (table, key column, value columns) holding personal values.
const PERSONAL: [(&str, &str, &[&str]); 2] = [
    ("appeals", "id", &["iin", "callback_phone", "body_text"]),
    ("sms_outbox", "id", &["phone", "body"]),
];

/// Seals every plaintext personal value; how many it sealed.
pub async fn seal_old_rows(state: &Arc<AppState>) -> Result<usize, DbError> {
    let Some(ids) = state.seal.clone() else {
        return Ok(0);
    };
    let sealed = db::write(&state.db, move |tx| {
        let mut sealed = 0;
        for (table, key, columns) in PERSONAL {
            for column in columns {
                let plain: Vec<(String, String)> = {
                    let mut stmt = tx.prepare(&format!(
                        "SELECT CAST({key} AS TEXT), {column} FROM {table} \
                         WHERE {column} IS NOT NULL AND {column} != '' \
                         AND substr({column}, 1, {}) != ?1",
                        AT_REST_PREFIX.len()
                    ))?;
                    let rows = stmt.query_map([AT_REST_PREFIX], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect::<Result<_, _>>()?
                };
                for (id, value) in plain {
                    // Sealing in memory fails only for want of memory; such a value stays.
                    let Ok(value) = seal_at_rest(&ids, &value) else {
                        continue;
                    };
                    tx.execute(
                        &format!("UPDATE {table} SET {column} = ?2 WHERE CAST({key} AS TEXT) = ?1"),
                        params![id, value],
                    )?;
                    sealed += 1;
                }
            }
        }
        Ok::<_, DbError>(sealed)
    })
    .await?;
    if sealed > 0 {
        let db = Arc::clone(&state.db);
        let _ = tokio::task::spawn_blocking(move || db.checkpoint_erased()).await;
        tracing::info!(
            values = sealed,
            "sealed personal values stored before sealing at rest"
        );
    }
    Ok(sealed)
}
