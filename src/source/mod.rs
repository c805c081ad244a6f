//! Sources: where events come from, as records of bytes turned into events or dead
//! letters.
//!
//! - [`records`]: splits a byte stream into records (lines; CSV records may span lines
//!   inside quotes) with a hard size limit, so one giant line cannot exhaust memory.
//! - [`decode`]: turns one record into an event for a given input format.
//! - [`file`]: a file as a source, and the event-time merge of several files.
//! - [`ahead`]: a source read on a thread of its own, its items handed over in batches.
//! - [`sort`]: the events of inputs not in time order, sorted by time (`replay --sort`).
//! - [`utf16`]: a UTF-16 file (its byte-order mark says so) read as UTF-8.

pub mod ahead;
pub mod decode;
pub mod file;
pub mod records;
pub mod sort;
pub mod utf16;

pub use ahead::ReadAhead;
pub use decode::{Decoded, Decoder, InputFormat};
pub use file::{FileSource, MergedFiles, SourceItem};
pub use sort::TimeSorted;
