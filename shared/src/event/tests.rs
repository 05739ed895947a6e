use super::*;
use serde_json::json;

fn alarm_event(detail: Value) -> Value {
    json!({
        "version": "0", "id": "x", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "time": "2025-07-20T12:20:28Z",
        "region": "ap-northeast-2",
        "resources": ["arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:cpu"],
        "detail": detail
    })
}

fn single_metric_detail() -> Value {
    json!({
        "alarmName": "cpu",
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed: 1 out of the last 1 datapoints [39.58 (20/07/25 12:19:00)] was greater than the threshold (25.0)",
            "reasonData": "{\"version\":\"1.0\",\"threshold\":25.0,\"recentDatapoints\":[39.58],\"evaluatedDatapoints\":[{\"timestamp\":\"2025-07-20T12:19:00.000+0000\",\"sampleCount\":1.0,\"value\":39.58}]}",
            "timestamp": "2025-07-20T12:20:28.989+0000"
        },
        "previousState": {"value": "OK", "reason": "", "timestamp": "2025-07-19T12:00:00.000+0000"},
        "configuration": {"metrics": [{"id": "m", "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": "i-0ae3d067021f08710"}}, "period": 60, "stat": "Average"}, "returnData": true}]}
    })
}

fn alarm(v: &Value) -> Incident {
    match parse(v) {
        Ok(Parsed::Alarm(a)) => *a,
        other => panic!("expected an alarm, got {other:?}"),
    }
}

#[test]
fn single_metric_alarm_yields_instance_threshold_and_comparison() {
    let a = alarm(&alarm_event(single_metric_detail()));
    assert_eq!(a.instance_ids, vec!["i-0ae3d067021f08710"]);
    assert_eq!(a.threshold(), Some(25.0));
    assert_eq!(a.comparison, Some(Comparison::Greater));
    assert_eq!(a.kind, AlarmKind::Metric);
    assert_eq!(a.evaluated_values().len(), 1);
    assert!(a.warnings.is_empty());
}

#[test]
fn period_above_u16_and_missing_dimensions_are_accepted() {
    let mut d = single_metric_detail();
    d["configuration"]["metrics"][0]["metricStat"]["period"] = json!(86400);
    d["configuration"]["metrics"][0]["metricStat"]["metric"]
        .as_object_mut()
        .unwrap()
        .remove("dimensions");
    let a = alarm(&alarm_event(d));
    assert_eq!(a.metrics[0].period, 86400);
    assert!(a.instance_ids.is_empty());
}

#[test]
fn reason_data_that_is_not_json_degrades_to_a_warning() {
    let mut d = single_metric_detail();
    d["state"]["reasonData"] = json!("{not json");
    let a = alarm(&alarm_event(d));
    assert!(a.state.reason_data.is_none());
    assert!(a.warnings[0].contains("detail.state.reasonData is not JSON"));
}

#[test]
fn missing_alarm_name_is_an_error_that_names_the_field() {
    let mut d = single_metric_detail();
    d.as_object_mut().unwrap().remove("alarmName");
    let err = parse(&alarm_event(d)).unwrap_err();
    assert!(err.to_string().contains("alarmName"), "{err}");
}

#[test]
fn wrong_type_error_names_the_path() {
    let mut d = single_metric_detail();
    d["state"]["timestamp"] = json!(5);
    let err = parse(&alarm_event(d)).unwrap_err().to_string();
    assert!(err.contains("detail.state.timestamp"), "{err}");
}

#[test]
fn bad_timestamp_and_unknown_state_are_errors() {
    let mut d = single_metric_detail();
    d["state"]["timestamp"] = json!("yesterday");
    assert!(matches!(
        parse(&alarm_event(d)),
        Err(EventError::Timestamp { .. })
    ));
    let mut d = single_metric_detail();
    d["state"]["value"] = json!("BROKEN");
    assert!(matches!(
        parse(&alarm_event(d)),
        Err(EventError::State { .. })
    ));
}

#[test]
fn unknown_events_are_ignored_not_rejected() {
    let v = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
    assert!(matches!(parse(&v), Ok(Parsed::Ignored { .. })));
}

#[test]
fn non_objects_are_malformed() {
    assert!(matches!(
        parse(&json!([1])),
        Err(EventError::NotAnObject(_))
    ));
    assert!(matches!(
        parse_bytes(b"{\"truncated"),
        Err(EventError::NotJson(_))
    ));
}

#[test]
fn thread_of_an_ok_after_alarm_is_the_alarm_episode() {
    let alarm_change = alarm(&alarm_event(single_metric_detail()));
    let mut ok = single_metric_detail();
    ok["previousState"] = ok["state"].clone();
    ok["state"] = json!({"value": "OK", "reason": "was not greater than the threshold", "timestamp": "2025-07-20T12:41:29.120+0000"});
    let ok_change = alarm(&alarm_event(ok));
    assert_eq!(alarm_change.thread_id(), ok_change.thread_id());
    assert_ne!(alarm_change.incident_key(), ok_change.incident_key());
}

fn sample(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/");
    serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
}

#[test]
fn the_labs_metrics_insights_alarm_is_a_fleet_alarm_without_an_instance() {
    let a = alarm(&sample("fleet-insights-alarm.json"));
    assert_eq!(a.kind, AlarmKind::MetricsInsights);
    let f = a.fleet.as_ref().expect("a fleet alarm");
    assert_eq!(f.source, FleetSource::MetricsInsights);
    assert_eq!(f.namespace, "AWS/EC2");
    assert_eq!(f.metric.as_deref(), Some("CPUUtilization"));
    assert_eq!(f.function.as_deref(), Some("MAX"));
    assert_eq!(f.period, Some(60));
    assert!(!f.multi_series());
    assert!(a.instance_ids.is_empty() && a.metrics.is_empty() && a.contributor().is_none());
    assert_eq!(a.metric_name(), Some("CPUUtilization"));
    assert_eq!(a.threshold(), Some(20.0));
    assert_eq!(a.comparison, Some(Comparison::Greater));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn a_multi_time_series_alarm_level_event_groups_by_instance() {
    let a = alarm(&sample("fleet-multi-series-alarm.json"));
    let f = a.fleet.as_ref().expect("a fleet alarm");
    assert_eq!(f.group_by, ["InstanceId"]);
    assert!(f.multi_series());
    assert!(a.instance_ids.is_empty() && a.contributor().is_none());
}

#[test]
fn a_contributor_is_an_incident_of_its_own_instance() {
    let a = alarm(&sample("fleet-contributor-alarm.json"));
    assert!(matches!(
        a.cause,
        Cause::Contributor {
            delivery: Delivery::EventBridge,
            ..
        }
    ));
    let c = a.contributor().expect("a contributor");
    assert_eq!(c.id, "8c1f4e7a2b9d3605");
    assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
    assert_eq!(a.single_instance(), Ok("i-0ae3d067021f08710"));
    // Its own series, as a single-metric alarm on the instance would name it.
    let m = a.primary_metric().expect("the contributor's metric");
    assert_eq!(
        (m.namespace.as_str(), m.name.as_str(), m.stat.as_str()),
        ("AWS/EC2", "CPUUtilization", "Maximum")
    );
    assert_eq!(m.dimensions["InstanceId"], "i-0ae3d067021f08710");
    assert!(a.previous.is_none());
    // No reasonData: threshold and the breaching datapoint come from the reason.
    assert_eq!(a.threshold(), Some(20.0));
    assert_eq!(a.evaluated_values().last().map(|(_, v)| *v), Some(39.58));
    assert_eq!(a.comparison, Some(Comparison::Greater));
    assert!(a
        .incident_key()
        .contains("#contributor/8c1f4e7a2b9d3605#ALARM#"));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn two_contributors_of_one_transition_are_two_incidents() {
    let one = sample("fleet-contributor-alarm.json");
    let mut other = one.clone();
    other["detail"]["alarmContributor"] =
        json!({"id": "f00dfeed12345678", "attributes": {"InstanceId": "i-0123456789abcdef0"}});
    let (a, b) = (alarm(&one), alarm(&other));
    assert_ne!(a.incident_key(), b.incident_key());
    assert_ne!(a.thread_id(), b.thread_id());
    assert_eq!(b.instance_ids, ["i-0123456789abcdef0"]);
}

#[test]
fn a_contributor_going_ok_without_data_parses() {
    let a = alarm(&sample("fleet-contributor-ok.json"));
    assert_eq!(a.state.value, AlarmState::Ok);
    assert_eq!(a.state.reason, "No data was returned for this contributor");
    assert!(a.state.reason_data.is_none());
    assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
}

#[test]
fn a_contributors_alarm_and_its_later_ok_share_one_thread() {
    let a = alarm(&sample("fleet-contributor-alarm.json"));
    let ok = alarm(&sample("fleet-contributor-ok.json"));
    assert_eq!(a.thread_id(), ok.thread_id());
    assert_ne!(a.incident_key(), ok.incident_key());
    assert_eq!(
            a.thread_id(),
            "contributor/8c1f4e7a2b9d3605#arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:EC2-Fleet-HighCPU-PerInstance"
        );
    // The alarm-level event of the same alarm keeps its own episode thread.
    let level = alarm(&sample("fleet-multi-series-alarm.json"));
    assert_eq!(level.alarm_arn, a.alarm_arn);
    assert_ne!(level.thread_id(), a.thread_id());
}

#[test]
fn the_direct_alarm_action_carries_contributors_too() {
    let a = alarm(&sample("fleet-contributor-action.json"));
    assert!(matches!(
        a.cause,
        Cause::Contributor {
            delivery: Delivery::AlarmAction,
            ..
        }
    ));
    assert_eq!(
        a.contributor().map(|c| c.id.as_str()),
        Some("8c1f4e7a2b9d3605")
    );
    assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
    let mut v = sample("fleet-insights-alarm.json");
    let detail = v["detail"].take();
    let action = json!({"source": "aws.cloudwatch", "alarmArn": "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:EC2-Fleet-HighCPU-Threshold-Count", "alarmData": detail});
    let a = alarm(&action);
    assert_eq!(a.kind, AlarmKind::MetricsInsights);
    assert!(a.fleet.is_some());
}

#[test]
fn a_contributor_without_an_instance_id_is_a_fleet_incident() {
    let mut v = sample("fleet-contributor-alarm.json");
    v["detail"]["alarmContributor"] =
        json!({"id": "8c1f4e7a2b9d3605", "attributes": {"AutoScalingGroupName": "web"}});
    let a = alarm(&v);
    assert!(a.instance_ids.is_empty() && a.metrics.is_empty());
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    v["detail"]["alarmContributor"] =
        json!({"id": "8c1f4e7a2b9d3605", "attributes": {"InstanceId": "not-an-instance"}});
    let a = alarm(&v);
    assert!(a.instance_ids.is_empty());
    assert!(a.warnings[0].contains("detail.alarmContributor.attributes.InstanceId"));
}

#[test]
fn a_contributor_event_without_a_contributor_or_with_a_bad_id_names_the_field() {
    let mut v = sample("fleet-contributor-alarm.json");
    v["detail"]
        .as_object_mut()
        .unwrap()
        .remove("alarmContributor");
    let err = parse(&v).unwrap_err().to_string();
    assert!(
        err.contains("detail: missing field `alarmContributor`"),
        "{err}"
    );
    let mut v = sample("fleet-contributor-alarm.json");
    v["detail"]["alarmContributor"]["id"] = json!("a#b");
    let err = parse(&v).unwrap_err().to_string();
    assert!(err.contains("detail.alarmContributor.id"), "{err}");
    let mut v = sample("fleet-contributor-alarm.json");
    v["detail"]["alarmContributor"]["attributes"] = json!(["InstanceId"]);
    let err = parse(&v).unwrap_err().to_string();
    assert!(err.contains("detail.alarmContributor.attributes"), "{err}");
}

#[test]
fn awss_dynamodb_contributor_sample_is_ignored_as_another_namespace() {
    match parse(&sample("contributor-dynamodb.json")) {
        Ok(Parsed::Ignored { detail_type, .. }) => {
            assert!(
                detail_type.contains("\"AWS/DynamoDB\", not an EC2 namespace"),
                "{detail_type}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_query_that_cannot_be_read_on_an_ec2_namespace_is_still_a_fleet_alarm() {
    let mut v = sample("fleet-insights-alarm.json");
    v["detail"]["configuration"]["metrics"][0]["expression"] =
        json!("SELECT MAX(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId) HAVING x");
    let a = alarm(&v);
    let f = a.fleet.as_ref().expect("a fleet alarm");
    assert_eq!(
        (f.namespace.as_str(), f.metric.as_deref()),
        ("AWS/EC2", None)
    );
    assert!(a.warnings[0].contains(
        "detail.configuration.metrics[0].expression: Metrics Insights query not understood"
    ));
    v["detail"]["configuration"]["metrics"][0]["expression"] = json!("SELECT MAX(x) FROM");
    assert!(matches!(parse(&v), Ok(Parsed::Ignored { .. })));
}

#[test]
fn metric_math_over_several_instances_is_a_fleet_alarm() {
    let mut d = single_metric_detail();
    let member = |id: &str, instance: &str| json!({"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": instance}}, "period": 60, "stat": "Average"}, "returnData": false});
    d["configuration"]["metrics"] = json!([
        member("m1", "i-0ae3d067021f08710"),
        member("m2", "i-0123456789abcdef0"),
        {"id": "e1", "expression": "MAX([m1, m2])", "returnData": true}
    ]);
    let a = alarm(&alarm_event(d));
    assert_eq!(a.kind, AlarmKind::MetricMath);
    let f = a.fleet.as_ref().expect("a fleet alarm");
    assert_eq!(f.source, FleetSource::MetricMath);
    assert_eq!(f.instances, ["i-0ae3d067021f08710", "i-0123456789abcdef0"]);
    assert_eq!(
        (f.metric.as_deref(), f.query.as_str()),
        (Some("CPUUtilization"), "MAX([m1, m2])")
    );
    // One instance's metric math is not a fleet.
    assert!(alarm(&sample("metric-math.json")).fleet.is_none());
    assert!(alarm(&sample("cpu-spike.json")).fleet.is_none());
}

#[test]
fn an_approval_and_the_expiry_one_shot_are_classified_and_a_malformed_approval_names_its_field() {
    let n = crate::remediation::approval::Nonce::from_bytes([7; 16]);
    let v = json!({"approval": {"nonce": n.to_string(), "decision": "approve", "by": "oncall"}});
    match parse(&v) {
        Ok(Parsed::Approval(r)) => assert_eq!(r.nonce, n),
        other => panic!("{other:?}"),
    }
    let e = crate::remediation::approval::expiry_event(&n);
    assert_eq!(parse(&e), Ok(Parsed::ApprovalExpiry(n)));
    let bad = json!({"approval": {"nonce": "not-ours", "decision": "approve"}});
    match parse(&bad) {
        Err(EventError::Field { path, .. }) => assert_eq!(path, "approval"),
        other => panic!("{other:?}"),
    }
    // Only a direct invocation is an answer: an alarm carrying an `approval` field is read as the alarm.
    let mut alarm_with_approval = alarm_event(single_metric_detail());
    alarm_with_approval["approval"] = json!({"nonce": n.to_string(), "decision": "approve"});
    assert!(matches!(parse(&alarm_with_approval), Ok(Parsed::Alarm(_))));
    let mut e = e;
    e["detail"]["nonce"] = json!(42);
    match parse(&e) {
        Err(EventError::Field { path, .. }) => assert_eq!(path, "detail.nonce"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_sample_recheck_parses_as_ec2ops_second_look_at_the_spike() {
    let Ok(Parsed::Recheck(r)) = parse(&sample("recheck-cpu-spike.json")) else {
        panic!("a re-check");
    };
    assert_eq!(r.instance_id, "i-0ae3d067021f08710");
    assert_eq!(r.peak, 39.58);
}

#[test]
fn a_crafted_recheck_of_another_metric_instance_or_shape_is_refused_naming_the_field() {
    let base = sample("recheck-cpu-spike.json");
    for (pointer, value, field) in [
        (
            "/detail/metric/dimensions/InstanceId",
            json!("i-0123456789abcdef0"),
            "detail.metric",
        ),
        (
            "/detail/metric/namespace",
            json!("AWS/RDS"),
            "detail.metric",
        ),
        ("/detail/metric/name", json!("NetworkOut"), "detail.metric"),
        (
            "/detail/instance_id",
            json!("i-0;rm -rf /"),
            "detail.instance_id",
        ),
        ("/detail/metric/period", json!(7), "detail.metric.period"),
        (
            "/detail/datapoints_to_alarm",
            json!(0),
            "detail.datapoints_to_alarm",
        ),
        (
            "/detail/metric/stat",
            json!("Average --evil"),
            "detail.metric.stat",
        ),
        ("/detail/metric/stat", json!("pX"), "detail.metric.stat"),
        (
            "/detail/thread_id",
            json!("20250720T122028.989Z#arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:other"),
            "detail.thread_id",
        ),
        ("/detail/alarm_name", json!("other"), "detail.alarm_name"),
        (
            "/detail/alarm_at",
            json!("2025-07-20T12:30:00Z"),
            "detail.alarm_at",
        ),
        (
            "/detail/peak_at",
            json!("9999-01-01T00:00:00Z"),
            "detail.alarm_at",
        ),
        (
            "/detail/incident_key",
            json!("arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:x#OK#2025-07-20T12:20:28.989Z"),
            "detail.incident_key",
        ),
    ] {
        let mut e = base.clone();
        *e.pointer_mut(pointer).unwrap() = value;
        match parse(&e) {
            Err(EventError::Field { path, .. }) => assert_eq!(path, field, "{pointer}"),
            other => panic!("{pointer}: {other:?}"),
        }
    }
    // A look that claims the most urgent priority is read as P1 at most: a spike never makes a P0.
    let mut e = base.clone();
    *e.pointer_mut("/detail/priority").unwrap() = json!("P0");
    match parse(&e) {
        Ok(Parsed::Recheck(r)) => assert_eq!(r.priority, crate::analyze::Priority::P1),
        other => panic!("{other:?}"),
    }
}
