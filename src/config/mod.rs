//! Configuration: defaults ← `config.toml` in the XDG config dir ← `.triage.toml` at the
//! repo root ← `TRIAGE_*` environment variables. Every layer is validated on its own so
//! that an error names the file (or variable), the key and what would be valid. The
//! repository's file is someone else's text: beyond repository facts it applies only
//! once the user trusts it (see [`trust`]).

mod load;
mod mcp;
pub mod private;
mod show;
pub mod trust;
mod types;
pub mod watch;

pub use load::{load, parse_layer};
pub use mcp::{McpConfig, McpServerConfig};
pub use show::describe;
pub use types::*;
pub use watch::WatchConfig;
