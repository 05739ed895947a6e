//! A recorded-response HTTP server on loopback, for AWS APIs the emulators do not serve (CloudTrail
//! `LookupEvents`): every request gets the same status and JSON body, and is kept for the test to read.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request the stub received: its headers (lower-case names) and body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: String,
    pub body: String,
}

/// An HTTP/1.1 server on loopback answering every request with one recorded JSON response (AWS JSON 1.1).
pub async fn stub(status: u16, body: String) -> (String, Arc<Mutex<Vec<Received>>>) {
    stub_bytes(status, "application/x-amz-json-1.1", "", body.into_bytes()).await
}

/// An HTTP/1.1 server on loopback answering every request with one recorded response of any protocol: its status,
/// content type, extra header lines (each ending `\r\n`, e.g. `smithy-protocol: rpc-v2-cbor\r\n`) and body.
pub async fn stub_bytes(
    status: u16,
    content_type: &'static str,
    extra_headers: &'static str,
    body: Vec<u8>,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
        panic!("bind loopback")
    };
    let url = match listener.local_addr() {
        Ok(a) => format!("http://{a}"),
        Err(e) => panic!("loopback address: {e}"),
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (log, body) = (log.clone(), body.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as many body bytes as Content-Length says.
                let (head, want) = loop {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (head, end + 4 + len);
                    }
                };
                while buf.len() < want {
                    let n = conn.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let start = head.len() + 4;
                if let Ok(mut l) = log.lock() {
                    l.push(Received {
                        headers: head,
                        body: String::from_utf8_lossy(&buf[start.min(buf.len())..]).into_owned(),
                    });
                }
                let reason = if status == 200 { "OK" } else { "Bad Request" };
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n{extra_headers}x-amzn-requestid: stub-1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let mut response = head.into_bytes();
                response.extend_from_slice(&body);
                let _ = conn.write_all(&response).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, seen)
}

/// A recorded answer written as JSON, encoded as the Smithy RPC v2 CBOR body CloudWatch sends: objects become maps,
/// arrays arrays, strings text strings, numbers integers or floats, and `{"$timestamp": <epoch seconds>}` a timestamp
/// (tag 1 over the seconds).
pub fn cbor(v: &serde_json::Value) -> Vec<u8> {
    use minicbor::data::Tag;
    use serde_json::Value;
    fn put(e: &mut minicbor::Encoder<Vec<u8>>, v: &Value) -> Result<(), String> {
        let r = match v {
            Value::Null => e.null().map(|_| ()),
            Value::Bool(b) => e.bool(*b).map(|_| ()),
            Value::Number(n) => match n.as_i64() {
                Some(i) => e.i64(i).map(|_| ()),
                None => e.f64(n.as_f64().unwrap_or_default()).map(|_| ()),
            },
            Value::String(s) => e.str(s).map(|_| ()),
            Value::Array(items) => {
                e.array(items.len() as u64).map_err(|x| x.to_string())?;
                return items.iter().try_for_each(|i| put(e, i));
            }
            Value::Object(m) => {
                if let (1, Some(t)) = (m.len(), m.get("$timestamp").and_then(Value::as_f64)) {
                    return e
                        .tag(Tag::new(1))
                        .and_then(|e| e.f64(t))
                        .map(|_| ())
                        .map_err(|x| x.to_string());
                }
                e.map(m.len() as u64).map_err(|x| x.to_string())?;
                for (k, v) in m {
                    e.str(k).map_err(|x| x.to_string())?;
                    put(e, v)?;
                }
                return Ok(());
            }
        };
        r.map_err(|x| x.to_string())
    }
    let mut e = minicbor::Encoder::new(Vec::new());
    if let Err(why) = put(&mut e, v) {
        panic!("CBOR of a recorded answer: {why}");
    }
    e.into_writer()
}

/// A stub answering every request with `answer` as CloudWatch does (Smithy RPC v2 CBOR).
pub async fn cloudwatch_stub(
    status: u16,
    answer: &serde_json::Value,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    stub_bytes(
        status,
        "application/cbor",
        "smithy-protocol: rpc-v2-cbor\r\n",
        cbor(answer),
    )
    .await
}
