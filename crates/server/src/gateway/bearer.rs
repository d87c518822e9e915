//! The `Authorization: Bearer <access JWT>` header the gateway sends upstream, made once per
//! issued token rather than once per request (issue #16): the realm hands out the same shared
//! token (`Realm::issue_shared`) while it is cached, and a JWT is about a kilobyte that
//! `HeaderValue` would check byte by byte; a ready value is cloned by reference count.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderValue;

/// Headers kept per thread; past it the thread's map starts again (each entry holds its token,
/// about 1 KiB, so a thread keeps at most a few MiB).
const MAX_KEPT: usize = 4096;

thread_local! {
    /// Keyed by the address of the token's text, which cannot be reused while the entry holds
    /// the token.
    static MADE: RefCell<HashMap<usize, (Arc<str>, HeaderValue)>> = RefCell::new(HashMap::new());
}

/// `Bearer <token>` as a header value; `None` when the token holds bytes no header may carry
/// (never for a JWT, whose characters are base64url and dots).
pub fn header(token: &Arc<str>) -> Option<HeaderValue> {
    let key = Arc::as_ptr(token).cast::<u8>().addr();
    MADE.with(|made| {
        let mut made = made.borrow_mut();
        if let Some((kept, value)) = made.get(&key)
            && Arc::ptr_eq(kept, token)
        {
            return Some(value.clone());
        }
        let mut text = Vec::with_capacity(7 + token.len());
        text.extend_from_slice(b"Bearer ");
        text.extend_from_slice(token.as_bytes());
        let value = HeaderValue::from_maybe_shared(Bytes::from(text)).ok()?;
        if made.len() >= MAX_KEPT {
            made.clear();
        }
        made.insert(key, (token.clone(), value.clone()));
        Some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_token_gets_the_same_header_and_another_token_its_own() {
        let token: Arc<str> = Arc::from("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
        let first = header(&token);
        assert_eq!(
            first.as_ref().map(HeaderValue::as_bytes),
            Some(&b"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"[..])
        );
        assert_eq!(header(&token), first);
        // Equal text in another allocation is another token as far as the map knows, and
        // still gets the right header.
        let copy: Arc<str> = Arc::from(&*token);
        assert_eq!(header(&copy), first);
        let other: Arc<str> = Arc::from("eyJhbGciOiJSUzI1NiJ9.e30.b3RoZXI");
        assert_eq!(
            header(&other).as_ref().map(HeaderValue::as_bytes),
            Some(&b"Bearer eyJhbGciOiJSUzI1NiJ9.e30.b3RoZXI"[..])
        );
        let broken: Arc<str> = Arc::from("a\nb");
        assert_eq!(header(&broken), None);
    }
}
