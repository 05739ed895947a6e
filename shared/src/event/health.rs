//! AWS Health events for EC2: one incident per affected instance.

use super::*;

/// AWS Health: EC2 events become one incident per affected instance; other services are ignored.
// Long on purpose: the wire types of a Health event are declared inside, next to the only code that reads them.
pub(super) fn parse_health(event: &Value) -> Result<Parsed, EventError> {
    #[derive(Deserialize)]
    struct Raw {
        time: Option<String>,
        account: Option<String>,
        region: Option<String>,
        detail: RawHealth,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawHealth {
        event_arn: String,
        service: Option<String>,
        event_type_code: String,
        event_type_category: Option<String>,
        start_time: Option<String>,
        end_time: Option<String>,
        event_region: Option<String>,
        event_description: Option<Vec<RawDescription>>,
        affected_entities: Option<Vec<RawEntity>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawDescription {
        language: Option<String>,
        latest_description: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawEntity {
        entity_value: Option<String>,
    }
    let raw: Raw = from_value(event, "AWS Health Event")?;
    let d = raw.detail;
    if d.service.as_deref().is_some_and(|s| s != "EC2") {
        return Ok(Parsed::Ignored {
            source: "aws.health".into(),
            detail_type: format!(
                "AWS Health Event ({})",
                bounded(d.service.as_deref().unwrap_or(""), 20)
            ),
        });
    }
    let description = d
        .event_description
        .unwrap_or_default()
        .into_iter()
        .find_map(|x| {
            (x.language.as_deref().unwrap_or("en_US").starts_with("en"))
                .then_some(x.latest_description)
                .flatten()
        });
    // An unreadable start or end (a year chrono reads but cannot add to, a garbled date) loses the deadline, not
    // the report: each incident says which field it could not read.
    let mut warnings = Vec::new();
    let mut health_time = |path: &str, text: Option<&str>| {
        let text = text?;
        let t = parse_health_time(text);
        if t.is_none() {
            warnings.push(format!(
                "{path}: unreadable time {}; the deadline is unknown",
                quote(text)
            ));
        }
        t
    };
    let start = health_time("detail.startTime", d.start_time.as_deref());
    let end = health_time("detail.endTime", d.end_time.as_deref());
    let notice = crate::model::HealthNotice {
        event_arn: d.event_arn,
        type_code: d.event_type_code,
        category: d.event_type_category.unwrap_or_default(),
        start,
        end,
        description: description.map(|t| bounded(&t, 2000)),
    };
    let at = raw
        .time
        .as_deref()
        .and_then(parse_timestamp)
        .or(notice.start)
        .ok_or_else(|| {
            // Name the field the time would have come from: `time`, else the start it falls back to.
            let (path, value) = match (raw.time.as_deref(), d.start_time.as_deref()) {
                (None, Some(start)) => ("detail.startTime", start),
                (time, _) => ("time", time.unwrap_or("")),
            };
            EventError::Timestamp {
                path: path.into(),
                // Raw: the message quotes it.
                value: bounded(value, QUOTE_MAX + 1),
            }
        })?;
    let region = d.event_region.or(raw.region);
    let changes: Vec<Incident> = d
        .affected_entities
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.entity_value)
        .filter(|v| looks_like_instance_id(v))
        .map(|id| {
            let mut c =
                Incident::from_health(&notice, &id, at, region.clone(), raw.account.clone());
            c.warnings.extend(warnings.iter().cloned());
            c
        })
        .collect();
    if changes.is_empty() {
        return Ok(Parsed::Ignored {
            source: "aws.health".into(),
            detail_type: format!(
                "AWS Health Event ({}: no EC2 instance affected)",
                bounded(&notice.type_code, 60)
            ),
        });
    }
    Ok(Parsed::Health(changes))
}

/// Health writes `Wed, 20 Nov 2025 09:00:00 GMT` in some events and RFC 3339 in others. Both forms get the same
/// year bound as [`parse_timestamp`]: chrono reads RFC 2822 up to `31 Dec 262142 …`, and the deadline and the metric
/// window are computed from these times.
pub(super) fn parse_health_time(s: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(s).or_else(|| {
        DateTime::parse_from_rfc2822(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(readable_year)
    })
}
