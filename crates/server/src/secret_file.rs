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

/// Reads the secret, or creates it (32 random bytes, hex) when the file does not exist yet.
/// Two processes starting at once agree: only one creation can succeed.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, SecretFileError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| SecretFileError::Io(shown.clone(), e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let text = hex::encode(bytes);
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| SecretFileError::Io(shown.clone(), e))?;
            Ok(text.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path, &shown),
        Err(e) => Err(SecretFileError::Io(shown, e)),
    }
}

fn read(path: &Path, shown: &str) -> Result<Vec<u8>, SecretFileError> {
    // A concurrent creator may not have written yet; give it a moment.
    for _ in 0..50 {
        let text =
            std::fs::read_to_string(path).map_err(|e| SecretFileError::Io(shown.to_string(), e))?;
        let text = text.trim();
        if text.len() >= 64 {
            return Ok(text.as_bytes().to_vec());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(SecretFileError::TooShort(shown.to_string()))
}
