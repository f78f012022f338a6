//! The commands behind the binary's subcommands. Each returns the process exit code: 0 clean,
//! 1 findings of error severity (or a diff to apply), 2 is left to `main` for errors.

#[cfg(feature = "online")]
pub mod audit;
pub mod check;
#[cfg(feature = "github")]
pub mod comment;
pub mod diff;
pub mod graph;
pub mod history;
pub mod init;
#[cfg(feature = "online")]
pub mod remote;
pub mod revisions;
pub mod rules;
pub mod settings;
pub mod summary;
#[cfg(feature = "online")]
pub mod verify;
