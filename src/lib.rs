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
//! | module | job |
//! |---|---|
//! | [`event`] | the canonical access event; JSON Lines, CSV and mapped (CEF, other layouts) decoders; name/VRM/postcode normalisation |
//! | [`source`] | records from files with a size limit, per-format decoding, event-time merge of several files |
//! | [`watchlist`] | the six reference tables, loaded from CSV/JSONL, with O(1) person/VRM/postcode indexes |
//! | [`enrich`] | joins one event to the watch lists: the user, the subject's identity, the "justified" test |
//! | [`detect`] | the watch-list rule catalogue: one function per rule, each sentence beside its logic |
//! | [`behaviour`] | the stateful detectors (volume, out of hours, fishing, export after sensitive, subject spike, peer comparison) and their bounded windows |
//! | [`risk`] | per-user decaying risk; the ranking behind `accesswatch risk` |
//! | [`alert`] | the alert type, deterministic ids, and the book of open alerts (suppression, retrospective release) |
//! | [`engine`] | the pipeline itself: enrich → detect → behaviour → allow lists → alert book; watermark, state snapshots |
//! | [`live`] | `accesswatch run`: Kafka consumer group, alert and dead-letter producer, watch-list topics, restore, snapshots, hot reload, archive thread (offsets wait for it) |
//! | [`service`], [`http`], [`metrics`] | the running service: signals, `/metrics`, `/healthz`, `/readyz` |
//! | [`dashboard`] | the anti-corruption dashboard: live board (SSE), triage and audit in SQLite, accounts and roles, drill-downs, daily briefing |
//! | [`demo`] | `accesswatch demo`: the live engine against an in-process Kafka |
//! | [`backtest`] | `accesswatch backtest`: a configuration change judged on history |
//! | [`sink`] | alert and dead-letter files |
//! | [`archive`] | every event and final alert as Parquet by date and system, sorted, with bloom filters; read back in engine order; prune, compact |
//! | [`hunt`] | DataFusion over the archive and watch lists: `query`, `who-accessed`, `user-activity`, `leak-trace` |
//! | [`retro`] | an entry added after the fact: its look-back searched in the archive, a replay's alerts raised |
//! | [`evidence`] | `accesswatch evidence`: one alert's bundle with SHA-256 of every file |
//! | [`replay`] | `accesswatch replay`: files through the engine, with a summary |
//! | [`config`] | defaults (`config/default.toml`) overlaid by the user's file; every fault with file, line and key |
//! | [`time`] | event time: fast RFC 3339 parsing, dates, durations, shifts |
//! | [`generate`] | a synthetic force (events, watch lists, labelled misuse) for demos, benchmarks and evaluation |
//! | [`evaluate`] | recall per misuse scenario and false alerts per rule, from labels and alerts |
//! | [`cli`] | the command line |
//!
//! Where to look: a watch-list rule lives in `src/detect/<rule>.rs`, a behavioural one
//! in `src/behaviour/mod.rs`; the watch-list join in `src/enrich.rs` and
//! `src/watchlist/index.rs`; suppression in `src/alert/book.rs`; the archive's columns
//! in `src/archive/columns.rs` (documented in docs/archive.md).

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
pub mod generate;
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
