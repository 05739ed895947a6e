//! Impairment memory, as `DynamoLedger` keeps it: failures per AZ by time, one AZ event per AZ and window, and the
//! hour-long note that a failing check was reported.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{expiry, since, AzEvent, MemoryLedger, Note, Noted, AZ_WINDOW};
use crate::memory::{from_epoch, later, locked, stamp, time_of};
use crate::ports::{AwsError, AzDeclaration, Impairment, ImpairmentLog};

/// How long a failure per AZ and an AZ event live.
const AZ_TTL: Duration = Duration::days(1);
/// How long a reported failure is remembered.
const NOTE_TTL: Duration = Duration::hours(1);

/// An impairment read back from its sort key `<time>#<instance>#<check>` (as the adapter parses it).
fn impairment(sk: &str, noted: &Noted) -> Option<Impairment> {
    let mut parts = sk.splitn(3, '#');
    let at = time_of(parts.next()?)?;
    Some(Impairment {
        instance_id: parts.next()?.to_string(),
        check: parts.next().unwrap_or_default().to_string(),
        incident_key: noted.incident.clone(),
        at,
    })
}

#[async_trait]
impl ImpairmentLog for MemoryLedger {
    async fn impaired_noted(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        // The adapter reads the note's expiry itself: TTL deletion is lazy.
        let state = locked(&self.state);
        let note = state.impaired.get(&format!("{instance_id}#{check}"));
        Ok(note.filter(|n| n.expires_at >= now.timestamp()).map(|n| {
            time_of(&n.at)
                .or_else(|| from_epoch(n.expires_at).map(|e| e - NOTE_TTL))
                .unwrap_or(now)
        }))
    }

    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let note = Note {
            at: stamp(now),
            expires_at: expiry(now, NOTE_TTL),
        };
        locked(&self.state)
            .impaired
            .insert(format!("{instance_id}#{check}"), note);
        Ok(())
    }

    async fn record_impairment(
        &self,
        availability_zone: &str,
        impairment: &Impairment,
    ) -> Result<(), AwsError> {
        let sk = format!(
            "{}#{}#{}",
            stamp(impairment.at),
            impairment.instance_id,
            impairment.check
        );
        let noted = Noted {
            incident: impairment.incident_key.clone(),
            expires_at: expiry(impairment.at, AZ_TTL),
        };
        locked(&self.state)
            .az
            .insert((format!("az#{availability_zone}"), sk), noted);
        Ok(())
    }

    async fn impairments(
        &self,
        availability_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Impairment>, AwsError> {
        let state = locked(&self.state);
        let pk = format!("az#{availability_zone}");
        Ok(since(&state.az, &pk, now - AZ_WINDOW)
            .filter_map(|(sk, noted)| impairment(sk, noted))
            .collect())
    }

    async fn declare_az_event(
        &self,
        availability_zone: &str,
        incident_key: &str,
        instances: &[String],
        now: DateTime<Utc>,
    ) -> Result<AzDeclaration, AwsError> {
        let mut state = locked(&self.state);
        // `attribute_not_exists(pk) OR #until < :now`, in epoch seconds.
        let open = state
            .az_events
            .get(availability_zone)
            .filter(|e| e.until >= now.timestamp());
        match open {
            None => {
                let event = AzEvent {
                    incident: incident_key.to_string(),
                    until: later(now, AZ_WINDOW).timestamp(),
                    instances: instances.to_vec(),
                    expires_at: expiry(now, AZ_TTL),
                };
                state.az_events.insert(availability_zone.to_string(), event);
                Ok(AzDeclaration::Declared)
            }
            Some(e) if e.incident == incident_key => Ok(AzDeclaration::Declared),
            Some(e) => Ok(AzDeclaration::Covered {
                by: e.incident.clone(),
                named: e.instances.clone(),
            }),
        }
    }
}
