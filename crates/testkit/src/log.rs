//! `TEST_LOG`: a tracing subscriber for in-process test servers, off unless asked for.

use std::sync::Once;

/// Installs a tracing subscriber writing to the test's captured output when `TEST_LOG` is set:
/// `TEST_LOG=1` shows `info` and Tessera's own `debug` events, any other value is an
/// `EnvFilter` directive (`TEST_LOG=tessera_server=trace,sqlx=info`). Without `TEST_LOG` it does
/// nothing, so passing tests stay quiet. Safe to call from every test: only the first call acts.
///
/// Servers started as child processes get the same switch through [`child_log_filter`].
pub fn init_test_log() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let Some(filter) = child_log_filter() else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// The `RUST_LOG` filter that `TEST_LOG` asks for, for a server run as a child process, or
/// `None` when `TEST_LOG` is unset or empty.
pub fn child_log_filter() -> Option<String> {
    let value = std::env::var("TEST_LOG").ok()?;
    match value.trim() {
        "" | "0" | "false" => None,
        "1" | "true" => Some("info,tessera=debug,tessera_server=debug,tessera_core=debug".into()),
        directive => Some(directive.to_string()),
    }
}
