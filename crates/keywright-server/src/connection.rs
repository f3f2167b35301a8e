//! JSON bodies for the answers hyper writes by itself.
//!
//! hyper answers a request it cannot parse before any handler or middleware sees it:
//! 414 for a URI over 65,534 bytes, 431 for a header section too large or with too
//! many headers, 400 for a malformed request line, header or URI (a raw non-ASCII
//! byte in the query). Those answers are a head with `content-length: 0`, after which
//! hyper closes the connection. Every error body of this server is JSON, so each
//! connection is wrapped: a write that is exactly such a head is replaced by the same
//! status with a JSON body. Nothing else is touched (every answer of the server's own
//! handlers has a non-empty body).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP listener whose connections answer hyper's own errors in JSON.
pub(crate) struct JsonErrorListener(pub(crate) TcpListener);

impl Listener for JsonErrorListener {
    type Io = JsonErrors<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        (JsonErrors::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The client's address, as handlers extract it (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

impl Connected<IncomingStream<'_, JsonErrorListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, JsonErrorListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// A connection that rewrites hyper's empty error answers (see the module docs).
pub(crate) struct JsonErrors<T> {
    inner: T,
    /// A rewritten answer not yet written, and how much of it is.
    pending: Vec<u8>,
    sent: usize,
}

impl<T> JsonErrors<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

/// hyper's own answer to a request it could not parse: a status line with 400, 414 or
/// 431, headers including `content-length: 0`, and nothing after the blank line.
fn automatic_error(head: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(head).ok()?;
    let rest = text
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let status: u16 = rest.get(..3)?.parse().ok()?;
    if !matches!(status, 400 | 414 | 431) || !text.ends_with("\r\n\r\n") {
        return None;
    }
    text.lines()
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"))
        .then_some(status)
}

/// The same answer with a JSON body (`{"result":"failure","error":"…"}`); the other
/// headers hyper wrote (its `date`) are kept.
fn rewrite(head: &[u8], status: u16) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let (error, reason) = match status {
        414 => (
            "request URI too long (at most 65534 bytes; each argument at most 4096)",
            "URI Too Long",
        ),
        431 => (
            "request headers too large (or too many of them)",
            "Request Header Fields Too Large",
        ),
        _ => (
            "malformed HTTP request (request line, header or URI; a URI is ASCII, other bytes are percent-encoded)",
            "Bad Request",
        ),
    };
    let body = serde_json::json!({ "result": "failure", "error": error }).to_string();
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default();
        if !["content-length", "content-type", "connection"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if let Some(status) = automatic_error(buf) {
            this.pending = rewrite(buf, status);
            // Written as far as hyper knows; the replacement goes out on flush.
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (filled.next(), filled.next()) {
            if let Some(status) = automatic_error(head) {
                this.pending = rewrite(head, status);
                return Poll::Ready(Ok(head.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_error_heads_are_rewritten() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 23 Nov 2026 17:00:00 GMT\r\n\r\n";
        assert_eq!(automatic_error(head), Some(414));
        let out = String::from_utf8(rewrite(head, 414)).unwrap();
        let (head_out, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(
            head_out.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
            "{out}"
        );
        assert!(
            head_out.contains("date: Mon, 23 Nov 2026 17:00:00 GMT"),
            "{out}"
        );
        assert!(head_out.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["result"], "failure");
        // A handler's answer (a body follows), a success, another status: untouched.
        for other in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 52\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"{\"result\":\"ok\"}",
        ] {
            assert_eq!(
                automatic_error(other),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }
}
