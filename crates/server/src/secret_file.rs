//! The server secret (the HMAC key for credentials at rest): from configuration, or a file
//! created on first start with owner-only permissions. Never logged.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("server secret file {0}: {1}")]
    Io(String, std::io::Error),
    #[error(
        "server secret file {0} is too short (need at least 32 bytes of hex); delete it only if no credential was ever issued"
    )]
    TooShort(String),
}

/// Reads the secret, or creates it (32 random bytes, hex, owner-only) when the file does not
/// exist yet. The file is written whole under a temporary name and linked into place only if
/// nothing is there (`persist_noclobber`), so two processes starting at once agree on one secret
/// and neither ever reads a half-written file.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| SecretFileError::Io(shown.clone(), e);
    match read(path, &shown) {
        Err(SecretFileError::Io(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    // A named temporary file is created with mode 0600 on Unix.
    let mut file = tempfile::Builder::new()
        .prefix(".tessera-secret")
        .tempfile_in(dir)
        .map_err(io)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let text = hex::encode(bytes);
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(io)?;
    match file.persist_noclobber(path) {
        Ok(_) => Ok(text.into_bytes()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => read(path, &shown),
        Err(e) => Err(io(e.error)),
    }
}

fn read(path: &Path, shown: &str) -> Result<Vec<u8>, SecretFileError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| SecretFileError::Io(shown.to_string(), e))?;
    let text = text.trim();
    if text.len() >= 64 {
        Ok(text.as_bytes().to_vec())
    } else {
        Err(SecretFileError::TooShort(shown.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_call_creates_an_owner_only_secret_and_later_ones_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/secret");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing but the secret is left in its folder.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn starters_racing_for_a_new_file_all_get_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let secrets: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| *s == secrets[0]));
    }

    #[test]
    fn a_short_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "abc").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(SecretFileError::TooShort(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abc");
    }
}
