//! A short-lived cache of each team's people's names.

use super::{Db, DbError};

/// How long a team's list of names is reused before it is read again.
const PEOPLE_NAMES_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The workspace's people's names (see [`super::briefings::people_names`]), read at most once
/// a minute per team: every briefing's guardrail needs them, and at 10,000 people reading them
/// once per briefing would cost more than the briefing. A person who joined in the last minute may
/// be taken for an invented name, which costs a correction, never a wrong message.
#[derive(Default)]
pub struct PeopleNames {
    by_team: std::sync::Mutex<std::collections::HashMap<String, ReadNames>>,
}

/// A team's names and when they were read.
type ReadNames = (std::time::Instant, std::sync::Arc<Vec<String>>);

impl PeopleNames {
    pub async fn get(
        &self,
        db: &Db,
        team_id: &str,
    ) -> Result<std::sync::Arc<Vec<String>>, DbError> {
        let cached = self
            .by_team
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(team_id)
            .filter(|(at, _)| at.elapsed() < PEOPLE_NAMES_TTL)
            .map(|(_, names)| names.clone());
        if let Some(names) = cached {
            return Ok(names);
        }
        let names = std::sync::Arc::new(super::briefings::people_names(db, team_id).await?);
        self.by_team
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                team_id.to_string(),
                (std::time::Instant::now(), names.clone()),
            );
        Ok(names)
    }
}
