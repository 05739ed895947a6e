//! A fault-injecting, latency-adding HTTP proxy on loopback, between the AWS SDK and the emulator: it forwards every
//! request and, per AWS service, can answer 500 or 503 with an AWS-shaped error, close the connection without
//! answering, or hold the request past any deadline. It counts requests per service and operation, so a benchmark
//! can report how many AWS calls an incident costs.
//!
//! The service is read from the SigV4 credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), so one
//! proxy serves every client of an `SdkConfig` built with [`crate::config_for`]`(proxy.url())`. Any service is
//! faulted the same way, including those the responder does not call yet (`ssm`); [`Proxy::route`] sends a service
//! to another upstream (DynamoDB is served by moto on port 5000, not by LocalStack). Each request's span is kept, so
//! [`sequential_depth`] can count the sequential round trips of an incident.
//!
//! Built on hyper 0.14 (server and client), which the AWS SDK already compiles with both features: hyper 1's
//! `server` feature is not enabled anywhere in the tree, and enabling it would rebuild the whole SDK chain and change
//! the features of the responder binary the benchmark measures.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use hyper::client::HttpConnector;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Body, Client, Request, Response, StatusCode, Uri};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does instead of (or before) forwarding a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer HTTP 500 with the service's "internal error" in its own protocol.
    InternalError,
    /// Answer HTTP 503 with the service's "service unavailable" in its own protocol.
    ServiceUnavailable,
    /// Read the request, then close the connection without answering.
    Drop,
    /// Hold the request this long, then forward it (a caller with a shorter deadline has given up by then).
    Delay(Duration),
    /// Forward the request (the service carries it out), then close the connection without its answer: the caller
    /// cannot tell that its write succeeded.
    LoseAnswer,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::InternalError => f.write_str("HTTP 500"),
            Fault::ServiceUnavailable => f.write_str("HTTP 503"),
            Fault::Drop => f.write_str("dropped connection"),
            Fault::Delay(d) => write!(f, "{} ms delay", d.as_millis()),
            Fault::LoseAnswer => f.write_str("answer lost after the request was carried out"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Injection {
    fault: Fault,
    /// How many more requests get the fault; `None` means until cleared.
    remaining: Option<u32>,
}

#[derive(Default)]
struct Config {
    latency: Duration,
    faults: BTreeMap<String, Injection>,
    routes: BTreeMap<String, Uri>,
    /// Requests per service, and per (service, operation).
    by_service: BTreeMap<String, u64>,
    by_operation: BTreeMap<(String, String), u64>,
    faulted: u64,
    timeline: Vec<Span>,
}

/// The most spans kept: enough for a storm of thousands of requests, bounded for anything longer.
const MAX_SPANS: usize = 100_000;

/// When one request was in the proxy: from arrival (after its body) to the answer, a fault, or the client leaving.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub operation: String,
    pub start: Instant,
    pub end: Instant,
}

/// Records the span when the request is done, however it ends (the client may give up and drop the connection).
struct SpanGuard {
    shared: Arc<Shared>,
    service: String,
    operation: String,
    start: Instant,
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        let mut c = self.shared.config();
        if c.timeline.len() < MAX_SPANS {
            c.timeline.push(Span {
                service: std::mem::take(&mut self.service),
                operation: std::mem::take(&mut self.operation),
                start: self.start,
                end: Instant::now(),
            });
        }
    }
}

/// The longest chain of requests each of which started after the previous one ended: the number of sequential AWS
/// round trips in the timeline. Requests issued together overlap (each is held at least the added latency), so
/// they count once; a request that needed another's answer starts after it and counts again.
pub fn sequential_depth(spans: &[Span]) -> usize {
    // Among intervals, pairwise-disjoint sets are chains; earliest-end-first finds a largest one.
    let mut by_end: Vec<&Span> = spans.iter().collect();
    by_end.sort_by_key(|s| s.end);
    let mut depth = 0;
    let mut free_from: Option<Instant> = None;
    for s in by_end {
        if free_from.is_none_or(|t| s.start >= t) {
            depth += 1;
            free_from = Some(s.end);
        }
    }
    depth
}

struct Shared {
    upstream: Uri,
    client: Client<HttpConnector, Body>,
    config: Mutex<Config>,
    request_ids: AtomicU64,
}

impl Shared {
    /// A poisoned lock only means another request panicked mid-update; the counters are still usable.
    fn config(&self) -> MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running proxy. Dropping it stops the listener and every connection it serves.
pub struct Proxy {
    url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks (a JoinSet): aborting it aborts them all.
        self.task.abort();
    }
}

impl Proxy {
    /// Listen on an ephemeral loopback port and forward to `upstream` (e.g. `http://127.0.0.1:4566`).
    pub async fn start(upstream: &str) -> std::io::Result<Proxy> {
        let upstream = parse_upstream(upstream)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = Client::builder()
            // Idle upstream connections close soon after the proxy goes quiet, so nothing outlives a test by long.
            .pool_idle_timeout(Duration::from_secs(5))
            .build_http();
        let shared = Arc::new(Shared {
            upstream,
            client,
            config: Mutex::new(Config::default()),
            request_ids: AtomicU64::new(1),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            url: format!("http://{addr}"),
            shared,
            task,
        })
    }

    /// The endpoint URL to give the SDK.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A fixed delay added to every request before it is forwarded or faulted (a network round trip).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.config().latency = latency;
    }

    /// Apply `fault` to every request for `service` (`ec2`, `monitoring`, `sns`, `sqs`, `ssm`, `dynamodb`, …)
    /// until [`Proxy::clear`]; `"service Operation"` (`"dynamodb PutItem"`) applies it to that operation only.
    pub fn inject(&self, service: &str, fault: Fault) {
        self.shared.config().faults.insert(
            service.to_string(),
            Injection {
                fault,
                remaining: None,
            },
        );
    }

    /// Apply `fault` to the next `times` requests for `service` only (a transient failure the SDK may retry past).
    pub fn inject_times(&self, service: &str, fault: Fault, times: u32) {
        self.shared.config().faults.insert(
            service.to_string(),
            Injection {
                fault,
                remaining: Some(times),
            },
        );
    }

    /// Stop faulting `service`.
    pub fn clear(&self, service: &str) {
        self.shared.config().faults.remove(service);
    }

    /// Send `service` to another upstream (e.g. `dynamodb` to moto on `http://127.0.0.1:5000`).
    pub fn route(&self, service: &str, upstream: &str) -> std::io::Result<()> {
        let uri = parse_upstream(upstream)?;
        self.shared.config().routes.insert(service.to_string(), uri);
        Ok(())
    }

    /// Requests seen per service since start or the last [`Proxy::reset_counts`], faulted ones included.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.shared.config().by_service.clone()
    }

    /// Requests seen per (service, operation).
    pub fn operations(&self) -> BTreeMap<(String, String), u64> {
        self.shared.config().by_operation.clone()
    }

    /// Every request seen.
    pub fn total_requests(&self) -> u64 {
        self.shared.config().by_service.values().sum()
    }

    /// Requests that got a fault instead of (or before) being forwarded.
    pub fn faulted(&self) -> u64 {
        self.shared.config().faulted
    }

    /// Every request's span since start or the last [`Proxy::reset_counts`], in completion order.
    pub fn timeline(&self) -> Vec<Span> {
        self.shared.config().timeline.clone()
    }

    /// Forget counts and the timeline.
    pub fn reset_counts(&self) {
        let mut c = self.shared.config();
        c.by_service.clear();
        c.by_operation.clear();
        c.faulted = 0;
        c.timeline.clear();
    }
}

fn parse_upstream(upstream: &str) -> std::io::Result<Uri> {
    let invalid = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("upstream {upstream:?}: {why}"),
        )
    };
    let uri = upstream
        .parse::<Uri>()
        .map_err(|e| invalid(e.to_string()))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(invalid("expected http://HOST:PORT".into()));
    }
    Ok(uri)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so a long benchmark does not accumulate them.
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else {
            // Accept errors (e.g. too many open files) are transient; do not spin on them.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| handle(req, shared.clone()));
            // A connection error is the client's business (it hung up, or we dropped it on purpose).
            let _ = hyper::server::conn::Http::new()
                .http1_only(true)
                .serve_connection(stream, service)
                .await;
        });
    }
}

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

async fn handle(req: Request<Body>, shared: Arc<Shared>) -> Result<Response<Body>, Dropped> {
    let service = service_of(req.headers()).unwrap_or_else(|| "unknown".into());
    let (parts, body) = req.into_parts();
    // The whole body is read before anything else, as a server would, so a dropped connection is dropped after
    // the request was sent (the client cannot tell whether it was processed).
    let Ok(body) = hyper::body::to_bytes(body).await else {
        return Err(Dropped);
    };
    let operation = operation_of(&parts, &body).unwrap_or_else(|| "unknown".into());
    let (latency, fault, upstream) = {
        let mut c = shared.config();
        *c.by_service.entry(service.clone()).or_default() += 1;
        *c.by_operation
            .entry((service.clone(), operation.clone()))
            .or_default() += 1;
        // A fault injected for one operation ("dynamodb PutItem") comes before one for its whole service.
        let op_key = format!("{service} {operation}");
        let fault_key = if c.faults.contains_key(&op_key) {
            op_key
        } else {
            service.clone()
        };
        let fault = match c.faults.get_mut(&fault_key) {
            Some(inj) => match &mut inj.remaining {
                None => Some(inj.fault),
                Some(0) => None,
                Some(n) => {
                    *n -= 1;
                    Some(inj.fault)
                }
            },
            None => None,
        };
        if fault.is_some() {
            c.faulted += 1;
        }
        let upstream = c
            .routes
            .get(&service)
            .cloned()
            .unwrap_or_else(|| shared.upstream.clone());
        (c.latency, fault, upstream)
    };
    let _span = SpanGuard {
        shared: shared.clone(),
        service: service.clone(),
        operation: operation.clone(),
        start: Instant::now(),
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Some(Fault::InternalError) => {
            return Ok(error_response(
                &shared,
                &service,
                &parts.headers,
                StatusCode::INTERNAL_SERVER_ERROR,
            ))
        }
        Some(Fault::ServiceUnavailable) => {
            return Ok(error_response(
                &shared,
                &service,
                &parts.headers,
                StatusCode::SERVICE_UNAVAILABLE,
            ))
        }
        Some(Fault::Drop) => return Err(Dropped),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::LoseAnswer) => {
            let _carried_out = forward(&shared, &upstream, parts, body).await;
            return Err(Dropped);
        }
        None => {}
    }
    Ok(forward(&shared, &upstream, parts, body).await)
}

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for h in HOP_BY_HOP {
        headers.remove(h);
    }
}

async fn forward(
    shared: &Shared,
    upstream: &Uri,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| hyper::http::uri::PathAndQuery::from_static("/"));
    let mut uri = Uri::builder().path_and_query(path);
    if let (Some(scheme), Some(authority)) = (upstream.scheme(), upstream.authority()) {
        uri = uri.scheme(scheme.clone()).authority(authority.clone());
    }
    let uri = match uri.build() {
        Ok(u) => u,
        Err(e) => return bad_gateway(&format!("cannot build the upstream URI: {e}")),
    };
    strip_hop_by_hop(&mut parts.headers);
    // The whole body is in hand: send it with its length, whatever framing the client used.
    parts.headers.remove(hyper::header::TRANSFER_ENCODING);
    // The Host header stays as the client signed it (SigV4 covers it); the emulator builds URLs from it.
    let mut request = Request::from_parts(parts, Body::from(body));
    *request.uri_mut() = uri;
    match shared.client.request(request).await {
        Ok(mut response) => {
            strip_hop_by_hop(response.headers_mut());
            response
        }
        Err(e) => bad_gateway(&format!("upstream request failed: {e}")),
    }
}

fn bad_gateway(why: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(why.to_string()));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}

/// The service of a SigV4-signed request: `…Credential=AKID/20250101/REGION/SERVICE/aws4_request…`.
pub fn service_of(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    // AKID / date / region / service / aws4_request
    match parts.as_slice() {
        [.., service, "aws4_request"] if !service.is_empty() => Some(service.to_string()),
        _ => None,
    }
}

/// The operation of a request in any AWS protocol the SDK uses: `X-Amz-Target` (JSON), `/operation/NAME` (Smithy
/// RPC v2 CBOR), `Action=NAME` (query, EC2).
pub fn operation_of(parts: &hyper::http::request::Parts, body: &[u8]) -> Option<String> {
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().map(str::to_string);
    }
    if let Some((_, op)) = parts.uri.path().split_once("/operation/") {
        return Some(op.trim_end_matches('/').to_string());
    }
    let from_query = |q: &str| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_string)
    };
    if let Some(op) = parts.uri.query().and_then(from_query) {
        return Some(op);
    }
    std::str::from_utf8(body).ok().and_then(from_query)
}

/// How the client expects errors to be encoded, read from its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// EC2 query: `<Response><Errors><Error>…`.
    Ec2Query,
    /// AWS query (SNS, older SQS and CloudWatch): `<ErrorResponse><Error>…`.
    Query,
    /// AWS JSON 1.0 / 1.1 (DynamoDB, SSM, SQS): `{"__type": …, "message": …}`.
    Json,
    /// Smithy RPC v2 CBOR (CloudWatch in current SDKs).
    Cbor,
}

fn protocol_of(service: &str, headers: &HeaderMap) -> Protocol {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    if header("smithy-protocol") == "rpc-v2-cbor" || header("content-type") == "application/cbor" {
        Protocol::Cbor
    } else if header("content-type").starts_with("application/x-amz-json") {
        Protocol::Json
    } else if service == "ec2" {
        Protocol::Ec2Query
    } else {
        Protocol::Query
    }
}

/// An error answer shaped like the service's own, so the SDK parses a code and a message out of it.
fn error_response(
    shared: &Shared,
    service: &str,
    request_headers: &HeaderMap,
    status: StatusCode,
) -> Response<Body> {
    let n = shared.request_ids.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("00000000-0000-4000-8000-{n:012x}");
    let protocol = protocol_of(service, request_headers);
    let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
    let message = if unavailable {
        "Service is unavailable. Please try again later. (fault injected by the ec2ops test proxy)"
    } else {
        "We encountered an internal error. Please try again. (fault injected by the ec2ops test proxy)"
    };
    // Codes as each service sends them for these statuses.
    let code = match (protocol, unavailable) {
        (Protocol::Ec2Query, false) => "InternalError",
        (Protocol::Ec2Query, true) => "Unavailable",
        (Protocol::Cbor, false) => "InternalServiceFault",
        (_, false) if service == "dynamodb" => "InternalServerError",
        (Protocol::Json, false) => "InternalServerError",
        (Protocol::Query, false) => "InternalFailure",
        (_, true) => "ServiceUnavailable",
    };
    let (content_type, body): (&str, Vec<u8>) = match protocol {
        Protocol::Ec2Query => (
            "text/xml;charset=UTF-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
                 <Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            )
            .into_bytes(),
        ),
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message>\
                 </Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
            .into_bytes(),
        ),
        Protocol::Json => (
            "application/x-amz-json-1.0",
            serde_json::json!({ "__type": code, "message": message })
                .to_string()
                .into_bytes(),
        ),
        Protocol::Cbor => ("application/cbor", cbor_error(code, message)),
    };
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    match protocol {
        Protocol::Cbor => {
            h.insert(
                HeaderName::from_static("smithy-protocol"),
                HeaderValue::from_static("rpc-v2-cbor"),
            );
        }
        Protocol::Json => {
            // Query-compatible JSON services (SQS) read the query-era code from this header.
            if let Ok(v) = HeaderValue::from_str(&format!("{code};Receiver")) {
                h.insert(HeaderName::from_static("x-amzn-query-error"), v);
            }
        }
        _ => {}
    }
    r
}

/// `{"__type": code, "message": message}` in CBOR (RFC 8949): a map of two text-string pairs.
fn cbor_error(code: &str, message: &str) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        // Major type 3 (text string) with the length in the shortest form.
        let len = s.len();
        match len {
            0..=23 => out.push(0x60 | len as u8),
            24..=0xff => out.extend([0x78, len as u8]),
            _ => {
                out.push(0x79);
                out.extend((len.min(0xffff) as u16).to_be_bytes());
            }
        }
        out.extend(&s.as_bytes()[..len.min(0xffff)]);
    }
    let mut out = vec![0xa2];
    text(&mut out, "__type");
    text(&mut out, code);
    text(&mut out, "message");
    text(&mut out, message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            hyper::header::AUTHORIZATION,
            HeaderValue::from_str(auth).unwrap(),
        );
        h
    }

    #[test]
    fn the_service_is_read_from_the_sigv4_credential_scope() {
        let h = headers(
            "AWS4-HMAC-SHA256 Credential=test/20250720/ap-northeast-2/monitoring/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
        );
        assert_eq!(service_of(&h).as_deref(), Some("monitoring"));
        assert_eq!(service_of(&headers("Bearer x")), None);
        assert_eq!(service_of(&HeaderMap::new()), None);
    }

    #[test]
    fn the_operation_is_read_from_every_protocol() {
        let parts = |uri: &str, target: Option<&str>| {
            let mut b = Request::builder().uri(uri);
            if let Some(t) = target {
                b = b.header("x-amz-target", t);
            }
            b.body(()).unwrap().into_parts().0
        };
        assert_eq!(
            operation_of(
                &parts("/", None),
                b"Action=DescribeInstances&Version=2016-11-15"
            )
            .as_deref(),
            Some("DescribeInstances")
        );
        assert_eq!(
            operation_of(
                &parts(
                    "/service/GraniteServiceVersion20100801/operation/GetMetricData",
                    None
                ),
                b""
            )
            .as_deref(),
            Some("GetMetricData")
        );
        assert_eq!(
            operation_of(&parts("/", Some("DynamoDB_20120810.PutItem")), b"{}").as_deref(),
            Some("PutItem")
        );
    }

    #[test]
    fn the_cbor_error_body_is_a_two_entry_map_of_text_strings() {
        let b = cbor_error("InternalServiceFault", &"m".repeat(30));
        assert_eq!(b[0], 0xa2);
        assert_eq!(b[1], 0x66);
        assert_eq!(&b[2..8], b"__type");
        assert_eq!(b[8], 0x60 | 20);
        // The 30-byte message needs the one-byte length form.
        let tail = &b[b.len() - 32..];
        assert_eq!(tail[..2], [0x78, 30]);
    }

    /// An upstream that answers every request `200 upstream`.
    async fn upstream() -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let svc = service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Body::from("upstream")))
                    });
                    let _ = hyper::server::conn::Http::new()
                        .serve_connection(stream, svc)
                        .await;
                });
            }
        });
        (url, task)
    }

    fn signed(proxy: &Proxy, service: &str, body: &'static str) -> Request<Body> {
        Request::post(proxy.url())
            .header(
                hyper::header::AUTHORIZATION,
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20250720/ap-northeast-2/{service}/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(Body::from(body))
            .unwrap()
    }

    async fn send(
        proxy: &Proxy,
        service: &str,
        body: &'static str,
    ) -> hyper::Result<(u16, String)> {
        // A fresh connection per request, so a dropped connection cannot affect the next request.
        let client: Client<HttpConnector> =
            Client::builder().pool_max_idle_per_host(0).build_http();
        let r = client.request(signed(proxy, service, body)).await?;
        let status = r.status().as_u16();
        let bytes = hyper::body::to_bytes(r.into_body()).await?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    #[tokio::test]
    async fn requests_are_forwarded_and_counted_per_service_and_operation() {
        let (up, _task) = upstream().await;
        let proxy = Proxy::start(&up).await.unwrap();
        let answer = send(&proxy, "ec2", "Action=DescribeInstances&Version=2016-11-15").await;
        assert_eq!(answer.unwrap(), (200, "upstream".to_string()));
        send(&proxy, "sns", "Action=Publish").await.unwrap();
        send(&proxy, "sns", "Action=Publish").await.unwrap();
        assert_eq!(
            proxy.requests(),
            BTreeMap::from([("ec2".to_string(), 1), ("sns".to_string(), 2)])
        );
        assert_eq!(
            proxy
                .operations()
                .get(&("sns".to_string(), "Publish".to_string())),
            Some(&2)
        );
        assert_eq!((proxy.total_requests(), proxy.faulted()), (3, 0));
    }

    #[tokio::test]
    async fn faults_answer_500_or_503_in_the_service_protocol_or_close_the_connection() {
        let (up, _task) = upstream().await;
        let proxy = Proxy::start(&up).await.unwrap();
        proxy.inject("ec2", Fault::InternalError);
        let (status, body) = send(&proxy, "ec2", "Action=DescribeInstances")
            .await
            .unwrap();
        assert_eq!(status, 500);
        assert!(
            body.contains("<Errors><Error><Code>InternalError</Code>"),
            "{body}"
        );

        proxy.inject("sns", Fault::ServiceUnavailable);
        let (status, body) = send(&proxy, "sns", "Action=Publish").await.unwrap();
        assert_eq!(status, 503);
        assert!(
            body.contains(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
            ),
            "{body}"
        );

        proxy.inject("ssm", Fault::Drop);
        let dropped = send(&proxy, "ssm", "{}").await;
        assert!(
            dropped.is_err(),
            "the connection should close unanswered: {dropped:?}"
        );

        // Other services pass; a cleared fault passes.
        assert_eq!(send(&proxy, "dynamodb", "{}").await.unwrap().0, 200);
        proxy.clear("ec2");
        assert_eq!(
            send(&proxy, "ec2", "Action=DescribeInstances")
                .await
                .unwrap()
                .0,
            200
        );
        assert_eq!(proxy.faulted(), 3);
    }

    #[tokio::test]
    async fn a_counted_fault_stops_after_that_many_requests() {
        let (up, _task) = upstream().await;
        let proxy = Proxy::start(&up).await.unwrap();
        proxy.inject_times("monitoring", Fault::ServiceUnavailable, 1);
        assert_eq!(send(&proxy, "monitoring", "").await.unwrap().0, 503);
        assert_eq!(send(&proxy, "monitoring", "").await.unwrap().0, 200);
        assert_eq!(proxy.faulted(), 1);
    }

    #[tokio::test]
    async fn latency_holds_every_request_and_a_delay_fault_holds_longer() {
        let (up, _task) = upstream().await;
        let proxy = Proxy::start(&up).await.unwrap();
        proxy.set_latency(Duration::from_millis(60));
        let started = std::time::Instant::now();
        send(&proxy, "ec2", "").await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(60));
        proxy.inject("ec2", Fault::Delay(Duration::from_millis(120)));
        let started = std::time::Instant::now();
        assert_eq!(send(&proxy, "ec2", "").await.unwrap().0, 200);
        assert!(started.elapsed() >= Duration::from_millis(180));
    }

    #[tokio::test]
    async fn a_dropped_proxy_stops_listening() {
        let (up, _task) = upstream().await;
        let proxy = Proxy::start(&up).await.unwrap();
        let addr = proxy.url().trim_start_matches("http://").to_string();
        drop(proxy);
        // The abort lands at the accept loop's next poll.
        let mut refused = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(&addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "still accepting on {addr}");
    }

    #[test]
    fn an_upstream_must_be_an_http_url() {
        assert!(parse_upstream("http://127.0.0.1:4566").is_ok());
        assert!(parse_upstream("127.0.0.1:4566").is_err());
        assert!(parse_upstream("https://example.com").is_err());
    }

    #[test]
    fn overlapping_requests_count_once_and_dependent_ones_again() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let span = |a: u64, b: u64| Span {
            service: "ec2".into(),
            operation: "X".into(),
            start: ms(a),
            end: ms(b),
        };
        // Round one: three calls together; round two after the first answer; then the publish.
        let spans = [
            span(0, 50),
            span(1, 52),
            span(2, 80),
            span(55, 105),
            span(56, 106),
            span(110, 160),
        ];
        assert_eq!(sequential_depth(&spans), 3);
        assert_eq!(sequential_depth(&[]), 0);
    }
}
