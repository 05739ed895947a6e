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

/// An HTTP/1.1 server on loopback answering every request with one recorded response.
pub async fn stub(status: u16, body: String) -> (String, Arc<Mutex<Vec<Received>>>) {
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
                let response = format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: stub-1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (url, seen)
}
