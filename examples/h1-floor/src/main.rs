//! `h1-floor LISTEN UPSTREAM`: a hand-made HTTP/1.1 keep-alive reverse proxy on tokio without
//! hyper, a floor that `bench/gateway.sh` measures beside nginx, `hyper-floor`, `pingora-floor`
//! and Tessera: what the kernel and tokio alone cost per forwarded request. Not a product.
//!
//! One current-thread runtime per core, each with its own `SO_REUSEPORT` listener and pool of idle
//! upstream connections: a request and its upstream call stay on one thread. Heads are parsed with
//! `httparse`, bodies framed by `Content-Length` only (`Transfer-Encoding`: 501; an answer without
//! a length: 502). Messages are forwarded as they came, one read and one write per direction when
//! they fit the connection's buffers (16 KiB, grown up to 16 MiB, reused across requests). A pooled
//! connection the upstream closed is replaced once. Nothing is checked or rewritten.

use std::cell::RefCell;
use std::io::{Error, ErrorKind, Result};
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use socket2::{Domain, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Headers a head may carry; more is a 400 (or a 502 from the upstream).
const HEADERS: usize = 64;
/// The first size of each connection's buffers (bytes).
const BUFFER: usize = 16 * 1024;
/// The longest message, head and body (bytes).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// One thread's idle upstream connections (most recently used last).
type Pool = Rc<RefCell<Vec<TcpStream>>>;

/// What a parsed head says of its message.
struct Framing {
    /// The head's length, up to and with the empty line (bytes).
    head: usize,
    /// The body's length (bytes).
    body: usize,
    /// Whether the connection ends after this message (`Connection: close`, or HTTP/1.0).
    close: bool,
}

/// Why a message cannot be forwarded: a malformed head or a framing the floor does not do.
fn invalid(what: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, what)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: h1-floor LISTEN_ADDR UPSTREAM_HOST:PORT");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| Error::other(format!("LISTEN_ADDR {listen:?}: {e}")))?;
    let upstream = upstream
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| Error::other(format!("UPSTREAM {upstream:?}: no address")))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<_> = (0..cores)
        .map(|_| std::thread::spawn(move || serve(listen, upstream)))
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| Error::other("a serving thread panicked"))??;
    }
    Ok(())
}

/// One core's runtime: its listener, its pool, its connections.
fn serve(listen: SocketAddr, upstream: SocketAddr) -> Result<()> {
    let socket = Socket::new(Domain::for_address(listen), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&listen.into())?;
    socket.listen(1024)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::from_std(socket.into())?;
        let pool = Pool::default();
        loop {
            let (client, _) = listener.accept().await?;
            let _ = client.set_nodelay(true);
            tokio::task::spawn_local(connection(client, upstream, pool.clone()));
        }
    })
}

/// Serves one client connection until it closes, fails or asks to close.
async fn connection(mut client: TcpStream, upstream: SocketAddr, pool: Pool) {
    let mut request = vec![0; BUFFER];
    let mut filled = 0;
    let mut response = vec![0; BUFFER];
    loop {
        let framing =
            match read_message(&mut client, &mut request, &mut filled, parse_request).await {
                Ok(Some(framing)) => framing,
                Ok(None) => return,
                Err(e) => {
                    let status = match e.kind() {
                        ErrorKind::Unsupported => "501 Not Implemented",
                        ErrorKind::InvalidData => "400 Bad Request",
                        _ => return,
                    };
                    return refuse(&mut client, status).await;
                }
            };
        let total = framing.head + framing.body;
        let head = request.starts_with(b"HEAD ");
        let length = match forward(&request[..total], head, upstream, &pool, &mut response).await {
            Ok(length) => length,
            Err(_) => return refuse(&mut client, "502 Bad Gateway").await,
        };
        if client.write_all(&response[..length]).await.is_err() || framing.close {
            return;
        }
        // A pipelined request that came with this one moves to the buffer's start.
        request.copy_within(total..filled, 0);
        filled -= total;
    }
}

/// Answers with an error `status` (code and reason) and ends the connection.
async fn refuse(client: &mut TcpStream, status: &str) {
    let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = client.write_all(answer.as_bytes()).await;
}

/// Sends one request upstream, on a pooled connection when there is one, and reads its answer
/// into `response`; the answer's length. A pooled connection the upstream closed meanwhile is
/// replaced by a new one once, when no byte of an answer came on it.
async fn forward(
    message: &[u8],
    head: bool,
    upstream: SocketAddr,
    pool: &Pool,
    response: &mut Vec<u8>,
) -> Result<usize> {
    let pooled = pool.borrow_mut().pop();
    let reused = pooled.is_some();
    let mut server = match pooled {
        Some(server) => server,
        None => connect(upstream).await?,
    };
    let mut answer = exchange(&mut server, message, head, response).await;
    if reused && matches!(&answer, Ok(None) | Err(_)) {
        server = connect(upstream).await?;
        answer = exchange(&mut server, message, head, response).await;
    }
    let (length, reusable) =
        answer?.ok_or_else(|| invalid("the upstream closed without answering"))?;
    if reusable {
        pool.borrow_mut().push(server);
    }
    Ok(length)
}

/// A new upstream connection.
async fn connect(upstream: SocketAddr) -> Result<TcpStream> {
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    Ok(server)
}

/// Writes a request and reads its answer: the answer's length and whether the connection can be
/// used again, or `None` when the connection closed before any byte of an answer.
async fn exchange(
    server: &mut TcpStream,
    message: &[u8],
    head: bool,
    response: &mut Vec<u8>,
) -> Result<Option<(usize, bool)>> {
    server.write_all(message).await?;
    let mut filled = 0;
    let parse = |bytes: &[u8]| parse_response(bytes, head);
    let Some(framing) = read_message(server, response, &mut filled, parse).await? else {
        return Ok(None);
    };
    let length = framing.head + framing.body;
    Ok(Some((length, !framing.close && filled == length)))
}

/// Reads one whole message into `buffer` (whose first `filled` bytes are already read, and may
/// hold more than one message): its framing, or `None` when the peer closed before a first byte.
async fn read_message(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    filled: &mut usize,
    parse: impl Fn(&[u8]) -> Result<Option<Framing>>,
) -> Result<Option<Framing>> {
    let framing = loop {
        if let Some(framing) = parse(&buffer[..*filled])? {
            break framing;
        }
        if *filled == buffer.len() {
            if buffer.len() >= MAX_MESSAGE {
                return Err(invalid("message too long"));
            }
            buffer.resize(buffer.len() * 2, 0);
        }
        match stream.read(&mut buffer[*filled..]).await? {
            0 if *filled == 0 => return Ok(None),
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => *filled += n,
        }
    };
    let total = framing.head + framing.body;
    if total > MAX_MESSAGE {
        return Err(invalid("message too long"));
    }
    if buffer.len() < total {
        buffer.resize(total, 0);
    }
    while *filled < total {
        match stream.read(&mut buffer[*filled..]).await? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => *filled += n,
        }
    }
    Ok(Some(framing))
}

/// The framing of a request head, if `bytes` holds a whole one.
fn parse_request(bytes: &[u8]) -> Result<Option<Framing>> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(invalid("malformed request head")),
    };
    let body = content_length(request.headers)?.unwrap_or(0);
    let close = request.version == Some(0) || asks_close(request.headers);
    Ok(Some(Framing { head, body, close }))
}

/// The framing of a response head, if `bytes` holds a whole one; `head`: the request was a HEAD.
fn parse_response(bytes: &[u8], head: bool) -> Result<Option<Framing>> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_length = match response.parse(bytes) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(invalid("malformed response head")),
    };
    let status = response.code.unwrap_or(0);
    let body = if head || status < 200 || status == 204 || status == 304 {
        0
    } else {
        content_length(response.headers)?
            .ok_or_else(|| invalid("an answer without Content-Length"))?
    };
    let close = response.version == Some(0) || asks_close(response.headers);
    Ok(Some(Framing {
        head: head_length,
        body,
        close,
    }))
}

/// The message's `Content-Length`; a `Transfer-Encoding` (not done here) or two different lengths
/// are refused.
fn content_length(headers: &[httparse::Header<'_>]) -> Result<Option<usize>> {
    let mut length = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Error::new(ErrorKind::Unsupported, "Transfer-Encoding"));
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| invalid("malformed Content-Length"))?;
            if length.is_some_and(|known| known != value) {
                return Err(invalid("conflicting Content-Length"));
            }
            length = Some(value);
        }
    }
    Ok(length)
}

/// Whether the head carries `Connection: close`.
fn asks_close(headers: &[httparse::Header<'_>]) -> bool {
    headers.iter().any(|header| {
        header.name.eq_ignore_ascii_case("connection")
            && header
                .value
                .split(|&b| b == b',')
                .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    })
}
