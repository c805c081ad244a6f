//! Kafka client settings from the `[kafka]` section.

use crate::config::KafkaConfig;
use rdkafka::ClientConfig;

/// A librdkafka configuration with the bootstrap servers and the pass-through
/// properties (`env:NAME` values read from the environment).
pub fn client_config(k: &KafkaConfig) -> Result<ClientConfig, super::error::LiveError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &k.bootstrap_servers);
    for (key, value) in &k.properties {
        let value = match value.strip_prefix("env:") {
            Some(var) => std::env::var(var).map_err(|_| {
                super::error::LiveError::Config(format!("kafka.properties.{key} reads ${var}, which is not set"))
            })?,
            None => value.clone(),
        };
        c.set(key, value);
    }
    Ok(c)
}

/// The topic a watch-list table is kept on.
pub fn watchlist_topic(k: &KafkaConfig, table: crate::watchlist::TableName) -> String {
    format!("{}{}", k.watchlist_topic_prefix, table.as_str())
}
