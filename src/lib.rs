//! # accesswatch
//!
//! A streaming engine that watches police system access logs (the Police National
//! Computer and force systems) and raises alerts for look-ups made without a policing
//! purpose: a celebrity just arrested, a friend in custody, a neighbour, an ex-partner,
//! oneself, the subjects of a covert operation. Contracts: `../shared/spec/`.
//!
//! ## Layout
//!
//! Every source feeds the same pipeline, so a replay of files raises exactly the alerts
//! the live feed would have raised for the same events:
//!
//! ```text
//!  source ──► parse ──► enrich ──────► detect ─────► behaviour ───► alert book ──► sinks
//!  files,     event     watch-list     watch-list    stateful       suppression,   alerts.jsonl,
//!  Kafka,     (JSON,    join: user,    rules         detectors,     retrospective  access-alerts,
//!  archive    CSV,      subject,       → findings    peer compare,  release,       dead letters,
//!  (by time)  CEF)      justification                risk           allow lists    archive
//!                 │
//!                 └── bad record ──► dead-letter sink (original bytes + reason)
//!
//!  archive (Parquet) ──► hunt (DataFusion SQL): query, who-accessed, user-activity,
//!                        leak-trace; retro (entry added → past accesses); evidence
//! ```
//!
//! Layers, bottom up: each module imports only those above it in this table (the
//! `structure` test keeps any import circle within three files).
//!
//! | module | job |
//! |---|---|
//! | [`hash`] | the hashes state keeps (xxHash64: a snapshot is read by other builds and machines) |
//! | [`time`] | event time: fast RFC 3339 parsing, dates, durations, shifts, time zones |
//! | [`window`] | event-time windows whose entries' ids are packed in one buffer, trailing baselines, decaying rates: the memory of the detectors and the explanations |
//! | [`event`] | the canonical access event; JSON Lines, CSV and mapped (CEF, other layouts) decoders; raw fields and their checks (`event/raw.rs`: the general path, and the direct build of a record whose values all pass); name/VRM/postcode normalisation |
//! | [`watchlist`] | the six reference tables, loaded from CSV/JSONL, with O(1) person/VRM/postcode indexes; one error type for their faults |
//! | [`alert`] | the shared vocabulary (`alert/rule.rs`: rule ids, severities, categories), the alert type, deterministic ids, and the book of open alerts (suppression, retrospective release) |
//! | [`config`] | one file per section (`config/rules.rs`, `config/archive.rs`, ...); defaults only in `config/default.toml`; every fault with file, line and key |
//! | [`explain`] | whether an access had a policing purpose on record and which (reference, custody, case or operation team, earlier access, encounter, routine); each user's recent explained accesses |
//! | [`enrich`] | joins one event to the watch lists: the user, the subject's identity and matches, the "justified" test, the explanation |
//! | [`detect`] | the watch-list rule catalogue: one file per rule, each sentence beside its logic; allow lists |
//! | [`behaviour`] | the stateful detectors (volume, out of hours, fishing, export after sensitive, subject spike, peer comparison) and their bounded windows |
//! | [`risk`] | per-user decaying risk; the ranking behind `accesswatch risk` |
//! | [`engine`] | the pipeline itself: enrich → detect → behaviour → allow lists → alert book; watermark; the state each stream has learned (`engine/state.rs`), which moves with its partition |
//! | [`source`], [`sink`] | records from files (size limit, per-format decoding, event-time merge); alert and dead-letter files, durable writes |
//! | [`archive`] | every event and final alert as Parquet by date and system, sorted, with bloom filters; read back in engine order, a damaged file left out and named (`archive/damaged.rs`), as is one where no reader looks (`archive/layout.rs`, with where the files lie); prune, compact |
//! | [`hunt`] | DataFusion over the archive and watch lists: `query`, `who-accessed`, `user-activity`, `leak-trace` |
//! | [`retro`] | an entry added after the fact: its look-back searched in the archive, a replay's alerts raised |
//! | [`evidence`] | `accesswatch evidence`: one alert's bundle with SHA-256 of every file |
//! | [`replay`], [`backtest`] | files through the engine with a summary; a configuration change judged on history |
//! | [`generate`], [`evaluate`] | a synthetic force (events, watch lists, labelled misuse); recall and false alerts from labels |
//! | [`metrics`], [`http`] | Prometheus metrics; `/metrics`, `/healthz`, `/readyz` |
//! | [`live`] | `accesswatch run`: Kafka consumer group, the engine thread (`live/worker.rs`), alert and dead-letter producer, watch-list topics, restore, per-partition state snapshots on the state topic (`live/snapshot.rs`), hot reload, archive thread; typed errors that say whose fault |
//! | [`dashboard`] | the anti-corruption dashboard: live board (SSE), triage and audit in SQLite, accounts and roles, drill-downs, daily briefing |
//! | [`service`], [`demo`] | the running service (HTTP, signals, engine, one shutdown); `accesswatch demo` on an in-process Kafka |
//! | [`cmd`] | the command line: one file per command, `anyhow` only here |
//! | [`fuzzing`] | every decoder over arbitrary bytes: the cargo-fuzz targets (`fuzz/`) and the CI property test |
//!
//! Where to look: a watch-list rule lives in `src/detect/<rule>.rs`, a behavioural one
//! in `src/behaviour/mod.rs`; the watch-list join in `src/enrich.rs` and
//! `src/watchlist/index.rs`; suppression in `src/alert/book.rs`; a rule's settings in
//! `src/config/rules.rs` and their defaults in `config/default.toml`; the archive's
//! columns in `src/archive/columns.rs` (documented in docs/archive.md).

pub mod alert;
pub mod archive;
pub mod backtest;
pub mod behaviour;
pub mod cmd;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod detect;
pub mod engine;
pub mod enrich;
pub mod evaluate;
pub mod event;
pub mod evidence;
pub mod explain;
pub mod fuzzing;
pub mod generate;
pub mod hash;
pub mod http;
pub mod hunt;
pub mod live;
pub mod metrics;
pub mod replay;
pub mod retro;
pub mod risk;
pub mod service;
pub mod sink;
pub mod source;
pub mod time;
pub mod watchlist;
pub mod window;
