//! Handles stored interactions.

use tracing::debug;

use super::HandlerError;
use crate::context::Context;
use crate::db::inbox::Item;

pub async fn handle(_ctx: &Context, item: &Item) -> Result<(), HandlerError> {
    let _: serde_json::Value = serde_json::from_str(&item.payload)
        .map_err(|e| HandlerError::Permanent(format!("stored payload is not JSON: {e}")))?;
    debug!(kind = %item.kind, "no handler yet");
    Ok(())
}
