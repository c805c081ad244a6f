//! Putting data on Kafka: `accesswatch publish-watchlists` and `accesswatch feed`.

use super::args::{load_config, load_watchlists};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Publish a directory of watch-list CSV files onto the watch-list topics
/// (`[kafka] watchlist_topic_prefix` + table), keyed by row key.
#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    #[arg(long)]
    config: PathBuf,
    /// Directory of watch-list CSV files.
    #[arg(long)]
    dir: PathBuf,
}

pub fn publish_watchlists(a: PublishArgs) -> Result<ExitCode> {
    let config = load_config(Some(&a.config))?;
    // Check the rows first: nothing is published from a directory with faults.
    load_watchlists(&a.dir)?;
    let n = crate::live::lists::publish_dir(&config.kafka, &a.dir)?;
    println!("published {n} rows to {}*", config.kafka.watchlist_topic_prefix);
    Ok(ExitCode::SUCCESS)
}

/// Feed a generated force onto Kafka (watch-list topics and `access-events`) at a
/// steady rate, as a source system would: demo traffic for a deployed engine.
#[derive(clap::Args, Debug)]
pub struct FeedArgs {
    #[arg(long)]
    config: PathBuf,
    /// A directory written by `accesswatch generate`.
    #[arg(long)]
    force: PathBuf,
    /// Events per second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Start again from the first event when the force is done, until stopped.
    #[arg(long)]
    repeat: bool,
}

pub fn feed(a: FeedArgs) -> Result<ExitCode> {
    let config = load_config(Some(&a.config))?;
    let shutdown = crate::live::Shutdown::new();
    crate::service::on_signal(shutdown.clone());
    let fed = std::sync::atomic::AtomicU64::new(0);
    let f = crate::live::feed::Feed {
        force: &a.force,
        events_topic: &config.kafka.events_topic,
        watchlist_prefix: &config.kafka.watchlist_topic_prefix,
        rate: a.rate,
        malformed_every: None,
    };
    loop {
        let client = crate::live::kafka::client_config(&config.kafka)?;
        let sent = crate::live::feed::feed(client, &f, &fed, &shutdown)?;
        eprintln!("fed {sent} events from {} to {}", a.force.display(), config.kafka.events_topic);
        if !a.repeat || shutdown.is_triggered() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
