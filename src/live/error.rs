//! What can stop or pause the live engine and its service, and whose fault it is.
//!
//! Every failure says which side must act: the force's configuration (fix it and
//! restart), an outside system such as Kafka, the disk or the dashboard's database
//! (it may clear by itself: retrying helps), or a bug of ours. A record's own fault is
//! never one of these: it is a dead letter (see `crate::sink::DeadLetter`).

use crate::watchlist::WatchlistErrors;
use rdkafka::error::KafkaError;
use std::fmt;

/// Whose fault a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The configuration, or the reference data and topics it names.
    Config,
    /// A system outside the engine: Kafka, the disk, the dashboard's database.
    Outside,
    /// The engine itself: a panic or a broken invariant.
    Bug,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Config => "configuration",
            Fault::Outside => "outside system",
            Fault::Bug => "bug",
        })
    }
}

/// A failure of the live engine or its service.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A setting that cannot work: an unknown source mapping, a missing topic.
    #[error("configuration: {0}")]
    Config(String),
    /// The watch-list files named by `[live] watchlists_dir` have faults.
    #[error("configuration: {0}")]
    Watchlists(#[from] WatchlistErrors),
    /// A Kafka client call failed.
    #[error("Kafka: {what}: {source}")]
    Kafka {
        what: String,
        #[source]
        source: KafkaError,
    },
    /// A file or directory could not be read or written.
    #[error("disk: {what}: {source}")]
    Disk {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A search of the archive failed.
    #[error(transparent)]
    Archive(#[from] crate::hunt::HuntError),
    /// The dashboard's database failed.
    #[error("dashboard database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The engine broke one of its own rules.
    #[error("bug: {0}")]
    Bug(String),
}

impl LiveError {
    pub fn kafka(what: impl Into<String>, source: KafkaError) -> LiveError {
        LiveError::Kafka { what: what.into(), source }
    }

    pub fn disk(what: impl Into<String>, source: std::io::Error) -> LiveError {
        LiveError::Disk { what: what.into(), source }
    }

    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            LiveError::Config(_) | LiveError::Watchlists(_) => Fault::Config,
            // A client that cannot even be created has been given bad properties.
            LiveError::Kafka { source: KafkaError::ClientCreation(_), .. } => Fault::Config,
            LiveError::Kafka { .. } | LiveError::Disk { .. } | LiveError::Archive(_) | LiveError::Database(_) => {
                Fault::Outside
            }
            LiveError::Bug(_) => Fault::Bug,
        }
    }

    /// Whether Kafka refused one message for what it is (too large, malformed): the
    /// message's own fault, which no retry mends and which must not stop the engine.
    pub fn refused_message(&self) -> bool {
        matches!(self, LiveError::Kafka { source, .. } if refused_message(source))
    }

    /// Whether trying again later can help (the fault is outside, and may clear).
    pub fn retryable(&self) -> bool {
        self.fault() == Fault::Outside
    }
}

/// Whether a production error is about the message itself rather than the broker.
pub fn refused_message(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::MessageSizeTooLarge | C::InvalidMessage | C::InvalidMessageSize | C::InvalidRecord)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_says_whose_fault_it_is() {
        let disk = LiveError::disk("writing the archive", std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(disk.fault(), Fault::Outside);
        assert!(disk.retryable());
        assert!(disk.to_string().starts_with("disk: writing the archive: "), "{disk}");
        let config = LiveError::Config("topic access-events does not exist".into());
        assert_eq!(config.fault(), Fault::Config);
        assert!(!config.retryable());
        let created = LiveError::kafka("creating the consumer", KafkaError::ClientCreation("bad property".into()));
        assert_eq!(created.fault(), Fault::Config);
        let down = LiveError::kafka(
            "fetching metadata",
            KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::AllBrokersDown),
        );
        assert!(down.retryable());
        assert_eq!(LiveError::Bug("the engine thread panicked".into()).fault(), Fault::Bug);
    }
}
