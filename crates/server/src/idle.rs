//! A response body that ends with an error when its source stays silent for too long, so that a
//! stalled upstream cannot hold a client's connection open for ever.
//!
//! The timer is armed only while the source makes the body wait (`Pending`), and re-armed only
//! after a frame came since it was armed: a body whose frames are ready when asked for (most
//! small answers) never touches the runtime's timer, and a streaming one resets it at most once
//! per wait rather than once per frame (issue #16).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// `inner`, cut with `Stalled` once it has made its reader wait `idle` without a frame.
pub struct IdleTimeout<B> {
    inner: B,
    idle: Duration,
    /// The deadline of the current wait; `None` until the body first waits.
    timer: Option<Pin<Box<Sleep>>>,
    /// Whether a frame came since the timer was armed (its deadline is then stale).
    moved: bool,
}

impl<B> IdleTimeout<B> {
    /// `inner` with at most `idle` of silence between frames (and before the first).
    pub fn new(inner: B, idle: Duration) -> IdleTimeout<B> {
        IdleTimeout {
            inner,
            idle,
            timer: None,
            moved: false,
        }
    }
}

/// The error that ends a body whose source stayed silent for the duration it names.
#[derive(Debug, thiserror::Error)]
#[error("the upstream sent nothing for {0:?}; the response was cut")]
pub struct Stalled(Duration);

impl<B> Body for IdleTimeout<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.moved = true;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let idle = this.idle;
                let fresh = this.timer.is_none();
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if this.moved && !fresh {
                    timer.as_mut().reset(Instant::now() + idle);
                }
                this.moved = false;
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Stalled(this.idle))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
