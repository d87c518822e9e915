//! HTTP/1.x over a raw TCP connection, for tests that must control the bytes: paths a client
//! library would normalise first, repeated header lines, several requests on one connection,
//! and upstreams that speak HTTP/1.0. Every read is bounded by a timeout.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const PATIENCE: Duration = Duration::from_secs(10);

/// A response as it came on the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// The status line's version, e.g. `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    /// Header lines in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One client connection to `address` (`http://host:port`).
pub struct RawConnection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl RawConnection {
    pub async fn open(address: &str) -> RawConnection {
        let host = address.trim_start_matches("http://");
        let stream = TcpStream::connect(host).await.expect("connect");
        let (read, writer) = stream.into_split();
        RawConnection {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// Sends `request` as it is and reads one response (`head` says whether it has a body).
    pub async fn exchange(&mut self, request: &str) -> RawResponse {
        self.writer
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        let head_only = request.starts_with("HEAD ");
        tokio::time::timeout(PATIENCE, read_response(&mut self.reader, head_only))
            .await
            .expect("no response in time")
    }

    /// Whether the server has closed the connection (EOF within a short wait).
    pub async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(500), self.reader.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

/// `GET <path>` in HTTP/1.1 with a bearer token and extra header lines (`"Name: value"`).
pub fn get(path: &str, token: Option<&str>, extra: &[&str]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

/// Sends one request on a new connection.
pub async fn send(address: &str, request: &str) -> RawResponse {
    RawConnection::open(address).await.exchange(request).await
}

/// Reads a request or response head: the lines up to the empty one.
pub async fn read_head<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await.expect("read head");
        let line = line.trim_end().to_string();
        if n == 0 || line.is_empty() {
            return lines;
        }
        lines.push(line);
    }
}

async fn read_response<R: AsyncBufReadExt + Unpin>(reader: &mut R, head_only: bool) -> RawResponse {
    let lines = read_head(reader).await;
    let status_line = lines.first().cloned().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .iter()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if !head_only && status != 204 && status != 304 {
        if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size).await.expect("chunk size");
                let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
                let mut chunk = vec![0u8; size + 2];
                reader.read_exact(&mut chunk).await.expect("chunk");
                body.extend_from_slice(&chunk[..size]);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = find("content-length") {
            body.resize(length.parse().expect("content-length"), 0);
            reader.read_exact(&mut body).await.expect("body");
        } else {
            reader.read_to_end(&mut body).await.expect("body to close");
        }
    }
    RawResponse {
        version,
        status,
        headers,
        body,
    }
}
