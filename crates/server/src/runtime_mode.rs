//! `[server] runtime`: how the public listener's requests are run (issue #16).
//!
//! - `per-core` (the default): one single-threaded tokio runtime per worker thread, each with its
//!   own `SO_REUSEPORT` listener on the same address and its own pools of upstream and model
//!   server connections, so that a request, its authentication and its upstream call stay on one
//!   thread (nginx's and actix-web's model). The kernel spreads new connections over the
//!   listeners; a connection stays on its thread for its life.
//! - `multi-thread`: one work-stealing runtime for everything, tasks moving between threads.
//!
//! Background work (last-used flush, invocation log, async prediction workers, key reload,
//! invalidations, the metrics listener) runs on the process's main runtime in both modes.
//! Settable as `TESSERA_SERVER_RUNTIME` and `TESSERA_SERVER_WORKERS`.

use serde::Deserialize;

use crate::config::ConfigError;

/// How requests are run; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeMode {
    /// One current-thread runtime per worker, `SO_REUSEPORT` listeners, per-thread pools.
    PerCore,
    /// One multi-threaded, work-stealing runtime.
    MultiThread,
}

/// The `[server]` section as written in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    runtime: Option<String>,
    workers: Option<usize>,
}

/// `[server]`, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerSettings {
    pub runtime: RuntimeMode,
    /// Serving threads in the `per-core` mode (default: the CPUs the process may use).
    pub workers: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            runtime: RuntimeMode::PerCore,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

impl ServerSettings {
    /// # Errors
    /// `Invalid` naming `server.runtime` (not `per-core` or `multi-thread`) or `server.workers`
    /// (not from 1 to 1024).
    pub(crate) fn parse(section: &ServerSection) -> Result<ServerSettings, ConfigError> {
        let defaults = ServerSettings::default();
        let runtime = match section.runtime.as_deref() {
            None => defaults.runtime,
            Some("per-core") => RuntimeMode::PerCore,
            Some("multi-thread") => RuntimeMode::MultiThread,
            Some(other) => {
                return Err(ConfigError::Invalid(format!(
                    "server.runtime: {other:?} must be \"per-core\" or \"multi-thread\""
                )));
            }
        };
        let workers = match section.workers {
            None => defaults.workers,
            Some(n @ 1..=1024) => n,
            Some(n) => {
                return Err(ConfigError::Invalid(format!(
                    "server.workers: {n} must be from 1 to 1024"
                )));
            }
        };
        Ok(ServerSettings { runtime, workers })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(runtime: Option<&str>, workers: Option<usize>) -> Result<ServerSettings, String> {
        ServerSettings::parse(&ServerSection {
            runtime: runtime.map(str::to_string),
            workers,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn both_modes_parse_and_nonsense_is_named() {
        assert_eq!(
            parse(Some("multi-thread"), Some(3)).unwrap(),
            ServerSettings {
                runtime: RuntimeMode::MultiThread,
                workers: 3
            }
        );
        assert_eq!(
            parse(Some("per-core"), None).unwrap().runtime,
            RuntimeMode::PerCore
        );
        assert!(parse(None, None).unwrap().workers >= 1);
        assert!(
            parse(Some("percore"), None)
                .unwrap_err()
                .contains("server.runtime")
        );
        assert!(parse(None, Some(0)).unwrap_err().contains("server.workers"));
        assert!(
            parse(None, Some(5000))
                .unwrap_err()
                .contains("server.workers")
        );
    }
}
