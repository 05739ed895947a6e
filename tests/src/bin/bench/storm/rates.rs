//! The storm's request rates, from the counting proxy's spans: publishes per UTC second (what every email
//! subscription of the topic receives), and AWS requests per second per API against EC2's documented token buckets.

use super::*;

/// A span's start as a UTC instant (the proxy's spans are on the monotonic clock; `clock` pairs the two).
fn utc(start: Instant, clock: (Instant, DateTime<Utc>)) -> DateTime<Utc> {
    let since = start.saturating_duration_since(clock.0);
    clock.1 + chrono::Duration::from_std(since).unwrap_or_default()
}

/// Publishes that reached SNS per UTC second: the highest against the gate.
pub(super) fn publish_rate(
    proxy: &Proxy,
    clock: (Instant, DateTime<Utc>),
    sent: &[(i64, ec2ops::message::SnsMessage)],
    table: &mut Table,
) {
    // Started per second, as the gate counts them.
    let mut started: BTreeMap<i64, usize> = BTreeMap::new();
    for (second, _) in sent {
        *started.entry(*second).or_default() += 1;
    }
    let gate = ec2ops::config::DEFAULT_PER_SECOND as usize;
    let most = started.values().copied().max().unwrap_or(0);
    table.fact(
        "5. storm highest publishes started in one second (the gate)",
        most.to_string(),
        &format!("≤ {gate}"),
        verdict(
            most <= gate,
            format!(
                "{} publishes started over {} seconds",
                sent.len(),
                started.len()
            ),
        ),
    );
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for span in proxy
        .timeline()
        .iter()
        .filter(|s| s.service == "sns" && s.operation == "Publish")
    {
        *per_second
            .entry(utc(span.start, clock).timestamp())
            .or_default() += 1;
    }
    let highest = per_second.values().copied().max().unwrap_or(0);
    let above_gate = per_second.values().filter(|n| **n > gate).count();
    // The gate bounds the publishes *started* per second; SNS counts them as they arrive, and latency can carry a
    // publish into the next second: the email-safe bound at arrival is two seconds' worth, SNS's limit of 10.
    table.fact(
        "5. storm highest publishes arriving at SNS in one second (per subscription)",
        highest.to_string(),
        &format!("≤ 10, SNS's email limit (the gate starts at most {gate} per second)"),
        verdict(
            highest <= 2 * gate && 2 * gate <= 10,
            format!(
                "{} publishes over {} seconds with any; {above_gate} second(s) above {gate} at arrival",
                per_second.values().sum::<usize>(),
                per_second.len()
            ),
        ),
    );
}

/// EC2's documented request token bucket of an action (aws-facts: filtered or paginated Describe* 100 burst / 20 per
/// second; mutating 50 / 5), each action metered on its own bucket.
fn ec2_bucket(operation: &str) -> (f64, f64) {
    if operation.starts_with("Describe") {
        (100.0, 20.0)
    } else {
        (50.0, 5.0)
    }
}

/// Requests a token bucket of `capacity` refilled at `rate` per second would have refused, for requests at `times`
/// (seconds, sorted).
fn refused(times: &[f64], capacity: f64, rate: f64) -> usize {
    let mut tokens = capacity;
    let mut last = times.first().copied().unwrap_or_default();
    let mut n = 0;
    for t in times {
        tokens = (tokens + (t - last) * rate).min(capacity);
        last = *t;
        // A request exactly on the refill schedule gets its token (times are floats: allow their rounding).
        if tokens >= 1.0 - 1e-9 {
            tokens -= 1.0;
        } else {
            n += 1;
        }
    }
    n
}

/// Per API (service and operation): requests, the busiest second, the mean over the storm, and for EC2 the requests
/// its documented bucket would have refused.
pub(super) fn api_rates(
    proxy: &Proxy,
    clock: (Instant, DateTime<Utc>),
    wall: Duration,
    table: &mut Table,
) {
    let mut by_api: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for span in proxy.timeline() {
        let at = span.start.saturating_duration_since(clock.0).as_secs_f64();
        by_api
            .entry((span.service.clone(), span.operation.clone()))
            .or_default()
            .push(at);
    }
    let secs = wall.as_secs_f64().max(1.0);
    let mut ec2 = Vec::new();
    let mut others = Vec::new();
    let mut ec2_refused = 0;
    let mut ec2_peak = 0;
    for ((service, operation), times) in &mut by_api {
        times.sort_by(f64::total_cmp);
        let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
        for t in times.iter() {
            // Whole seconds since the start; the cast saturates, and a storm lasts minutes.
            *per_second.entry(t.floor() as i64).or_default() += 1;
        }
        let peak = per_second.values().copied().max().unwrap_or(0);
        let line = format!(
            "{operation} {} (peak {peak}/s, mean {:.1}/s",
            times.len(),
            times.len() as f64 / secs
        );
        if service == "ec2" {
            let (capacity, rate) = ec2_bucket(operation);
            let n = refused(times, capacity, rate);
            ec2_refused += n;
            ec2_peak = ec2_peak.max(peak);
            ec2.push(format!(
                "{line}, bucket {capacity:.0}/{rate:.0} would refuse {n})"
            ));
        } else {
            others.push(format!("{service} {line})"));
        }
    }
    table.fact(
        "5. storm EC2 requests per second per action, against EC2's token buckets",
        format!("peak {ec2_peak}/s"),
        "no request beyond the documented bucket (Describe* 100 burst / 20 per s each)",
        verdict(ec2_refused == 0, ec2.join(", ")),
    );
    table.notes.push(format!(
        "storm: other APIs (no per-second bucket in our notes; CloudWatch's are per-account quotas in Service Quotas, DynamoDB on-demand scales per table): {}",
        others.join(", ")
    ));
}

#[cfg(test)]
mod tests {
    use super::refused;

    #[test]
    fn a_token_bucket_refuses_only_beyond_its_burst_and_refill() {
        // 100 at once fit the burst; the 101st a millisecond later does not.
        let mut times = vec![0.0; 100];
        times.push(0.001);
        assert_eq!(refused(&times, 100.0, 20.0), 1);
        // 20 per second for a minute, after a burst of 100: the refill keeps up.
        let mut steady: Vec<f64> = vec![0.0; 100];
        steady.extend((1..=1200).map(|i| f64::from(i) * 0.05));
        assert_eq!(refused(&steady, 100.0, 20.0), 0);
    }
}
