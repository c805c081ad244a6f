//! Sinks: where alerts and dead letters go.
//!
//! - [`alert_file`]: alerts to a JSON Lines file, one final alert per line.
//! - [`durable`]: files written whole or not at all (temporary name, sync, rename).
//! - [`dead_letter`]: records that could not be read, with their original bytes,
//!   where they came from, and why.

pub mod alert_file;
pub mod dead_letter;
pub mod durable;

pub use alert_file::{AlertCounts, AlertFile};
pub use dead_letter::{DeadLetter, DeadLetterFile, Origin};
