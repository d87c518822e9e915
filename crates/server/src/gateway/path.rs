//! Request paths made canonical before a route is chosen and before they are forwarded (SPEC
//! section 5, "A route's prefix is a boundary"). Pure functions on strings: no I/O, no axum; the
//! middleware that applies them is in `gateway/mod.rs`. They never decode anything but the
//! unreserved characters, so a path is never decoded twice (`%252e` stays `%252e`).

use std::borrow::Cow;

/// Why a request path is refused (400). Each message names the problem for the client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path has a '%' that is not followed by two hex digits")]
    MalformedEscape,
    #[error("the path hides a '/' inside a segment (%2F); such paths are refused")]
    EncodedSlash,
    #[error("the path contains a backslash ('\\' or %5C); such paths are refused")]
    Backslash,
    #[error("the path contains a NUL byte (%00)")]
    Nul,
    #[error("the path's percent-encoded bytes are not UTF-8 (overlong encodings are refused)")]
    NotUtf8,
    #[error(
        "the path has a dot segment with parameters (\"..;\" or \".;\"), which some servers read as a dot segment"
    )]
    DotWithParameters,
    #[error("the path climbs above the root with '..'")]
    AboveRoot,
    #[error("the path climbs out of the gateway route {0} with '..'")]
    OutOfPrefix(String),
}

/// The canonical form of an origin-form request path (no query), per RFC 3986: percent-encoded
/// unreserved characters decoded and the remaining escapes' hex digits upper-cased (§6.2.2.1,
/// §6.2.2.2), repeated slashes merged into one (as nginx's `merge_slashes`), dot segments
/// removed (§5.2.4; a path ending in `.` or `..` keeps its trailing slash).
///
/// Refused: a malformed escape; a separator hidden in a segment (`%2F`, `%5C`, a backslash); a
/// NUL (`%00`); escapes that do not decode to UTF-8 (overlong forms such as `%C0%AE`); a dot
/// segment with parameters (`..;x`), which Java servers treat as `..`; a `..` above the root
/// (nginx also answers 400); and a `..` that would remove the last segment of one of
/// `prefixes` (gateway route prefixes such as `/api/jobs/`), wherever it appears, so that a
/// request written under a route can never leave it. Reaching a prefix *through* dot segments
/// from elsewhere (`/api/other/../jobs/x`) is allowed and routed like `/api/jobs/x`, as nginx
/// does: the route and its authentication are chosen on the canonical path.
///
/// Returns the input itself (no allocation) when it is already canonical. A target that is not
/// origin-form (`*`) is returned as it is.
pub fn normalise<'a, P: AsRef<str>>(
    path: &'a str,
    prefixes: &[P],
) -> Result<Cow<'a, str>, PathError> {
    if !path.starts_with('/') || is_canonical(path) {
        return Ok(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len());
    let mut segments = path[1..].split('/').peekable();
    let mut trailing_slash = false;
    while let Some(raw) = segments.next() {
        let last = segments.peek().is_none();
        let segment = decode_unreserved(raw)?;
        if is_dot_with_parameters(&segment) {
            return Err(PathError::DotWithParameters);
        }
        match &*segment {
            "" | "." => {}
            ".." => climb(&mut out, prefixes)?,
            name => {
                out.push('/');
                out.push_str(name);
            }
        }
        trailing_slash = last && matches!(&*segment, "" | "." | "..");
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    Ok(if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    })
}

/// Whether `path` is already what `normalise` would return: the cheap check of the hot path.
/// Escapes always take the slow path (it decides whether they change).
pub fn is_canonical(path: &str) -> bool {
    let bytes = path.as_bytes();
    if !bytes.starts_with(b"/") || bytes.contains(&b'%') || bytes.contains(&b'\\') {
        return false;
    }
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let empty_inside = segment.is_empty() && segments.peek().is_some();
        if empty_inside || matches!(segment, "." | "..") || is_dot_with_parameters(segment) {
            return false;
        }
    }
    true
}

/// Removes the last segment of `out` for a `..`, refusing to go above the root or out of a
/// prefix (`out` + "/" being a prefix means the segment removed is the prefix's own).
fn climb<P: AsRef<str>>(out: &mut String, prefixes: &[P]) -> Result<(), PathError> {
    if out.is_empty() {
        return Err(PathError::AboveRoot);
    }
    let left = prefixes.iter().map(AsRef::as_ref).find(|prefix| {
        prefix.len() == out.len() + 1 && prefix.starts_with(out.as_str()) && prefix.ends_with('/')
    });
    if let Some(prefix) = left {
        return Err(PathError::OutOfPrefix(prefix.to_string()));
    }
    let cut = out.rfind('/').unwrap_or(0);
    out.truncate(cut);
    Ok(())
}

/// `.;x` or `..;x` (also with `;` escaped as `%3B`): a dot segment with path parameters.
fn is_dot_with_parameters(segment: &str) -> bool {
    let rest = segment
        .strip_prefix("..")
        .or_else(|| segment.strip_prefix('.'));
    rest.is_some_and(|rest| {
        rest.starts_with(';') || rest.get(..3).is_some_and(|e| e.eq_ignore_ascii_case("%3B"))
    })
}

/// RFC 3986 section 2.3.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Whether a query's escapes decode to UTF-8 (`%C3%A9` does, `%FF%FE` and the overlong `%C0%AE`
/// do not). A `%` not followed by two hex digits is taken literally, as form decoding does.
pub fn query_is_utf8(query: &str) -> bool {
    if !query.contains('%') {
        return true;
    }
    let bytes = query.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| {
                Some((
                    hex_value(*bytes.get(i + 1)?)?,
                    hex_value(*bytes.get(i + 2)?)?,
                ))
            })
            .flatten();
        match escaped {
            Some((high, low)) => {
                decoded.push(high * 16 + low);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// One segment with its unreserved escapes decoded and the others upper-cased; refuses hidden
/// separators, NULs, malformed escapes and escapes that are not UTF-8.
fn decode_unreserved(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if raw.contains('\\') {
        return Err(PathError::Backslash);
    }
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut high = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte != b'%' {
            // Copy the run up to the next escape (it may hold multi-byte characters).
            let end = raw[i..].find('%').map_or(raw.len(), |n| i + n);
            out.push_str(&raw[i..end]);
            i = end;
            continue;
        }
        let value = match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(&h), Some(&l)) => match (hex_value(h), hex_value(l)) {
                (Some(h), Some(l)) => h * 16 + l,
                _ => return Err(PathError::MalformedEscape),
            },
            _ => return Err(PathError::MalformedEscape),
        };
        match value {
            b'/' => return Err(PathError::EncodedSlash),
            b'\\' => return Err(PathError::Backslash),
            0 => return Err(PathError::Nul),
            v if is_unreserved(v) => out.push(char::from(v)),
            v => {
                high |= v >= 0x80;
                out.push('%');
                out.push(char::from(b"0123456789ABCDEF"[usize::from(v >> 4)]));
                out.push(char::from(b"0123456789ABCDEF"[usize::from(v & 0xF)]));
            }
        }
        i += 3;
    }
    if high && !decodes_to_utf8(&out) {
        return Err(PathError::NotUtf8);
    }
    Ok(Cow::Owned(out))
}

/// Whether a segment whose escapes are all well-formed decodes, fully, to UTF-8.
fn decodes_to_utf8(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex_value)) {
            (b'%', Some(h)) => {
                let l = bytes.get(i + 2).copied().and_then(hex_value).unwrap_or(0);
                decoded.push(h * 16 + l);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
