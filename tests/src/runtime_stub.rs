//! A stub of the Lambda Runtime API on loopback: hands out queued events on `GET …/invocation/next` and records what
//! the function posts back, so the real `bootstrap` binary can be run and observed without Lambda.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the function posted for one invocation.
#[derive(Debug, Clone)]
pub struct Posted {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct State {
    events: VecDeque<serde_json::Value>,
    posted: Vec<Posted>,
    next_calls: Vec<Instant>,
    init_error: Option<String>,
    served: usize,
}

/// A running stub.
#[derive(Clone)]
pub struct RuntimeStub {
    pub addr: String,
    state: Arc<Mutex<State>>,
}

impl RuntimeStub {
    pub async fn start(events: Vec<serde_json::Value>) -> RuntimeStub {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr").to_string();
        let state = Arc::new(Mutex::new(State {
            events: events.into(),
            ..State::default()
        }));
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, s.clone()));
            }
        });
        RuntimeStub { addr, state }
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.state
            .lock()
            .map(|s| s.posted.clone())
            .unwrap_or_default()
    }

    /// When each `GET …/next` arrived (the first one marks the end of the cold start).
    pub fn next_calls(&self) -> Vec<Instant> {
        self.state
            .lock()
            .map(|s| s.next_calls.clone())
            .unwrap_or_default()
    }

    pub fn init_error(&self) -> Option<String> {
        self.state.lock().ok().and_then(|s| s.init_error.clone())
    }

    /// Wait until `n` results were posted, or `limit` passed.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Posted> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            let p = self.posted();
            if p.len() >= n {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.posted()
    }
}

async fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let h = header.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let next = {
                let Ok(mut s) = state.lock() else { return };
                s.next_calls.push(Instant::now());
                s.served += 1;
                s.events
                    .pop_front()
                    .map(|e| (format!("req-{}", s.served), e))
            };
            match next {
                Some((id, event)) => {
                    let payload = event.to_string();
                    let deadline = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() + 30_000)
                        .unwrap_or_default();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                         Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                         Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops\r\n\
                         Content-Length: {}\r\n\r\n{payload}",
                        payload.len()
                    )
                }
                // No more events: hold the long poll, as Lambda does between invocations.
                None => {
                    std::future::pending::<()>().await;
                    return;
                }
            }
        } else if method == "POST" && path.contains("/runtime/invocation/") {
            let mut segs = path.rsplit('/');
            let kind = segs.next().unwrap_or_default().to_string();
            let request_id = segs.next().unwrap_or_default().to_string();
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            if let Ok(mut s) = state.lock() {
                s.posted.push(Posted {
                    request_id,
                    kind,
                    body,
                });
            }
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
        } else if method == "POST" && path.ends_with("/runtime/init/error") {
            if let Ok(mut s) = state.lock() {
                s.init_error = Some(String::from_utf8_lossy(&body).into_owned());
            }
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if reader
            .get_mut()
            .write_all(response.as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The environment Lambda gives a function, pointed at the stub.
pub fn lambda_env(stub: &RuntimeStub) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", stub.addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "ec2ops"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ec2ops"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "stub"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
