//! Integration tests, in one binary so the crate's dependencies are linked once.
//! They run the `accesswatch` program as a user would.

mod archive;
mod browser;
mod cli;
mod deploy;
mod generate;
mod golden;
mod hostile;
mod kafka;
mod live_mock;
mod live_process;
mod live_tansu;
mod replay;
mod scale;
mod structure;
mod support;
