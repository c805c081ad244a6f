//! The `accesswatch` binary: everything lives in the library; see `src/lib.rs`.

/// mimalloc: the engine allocates small, short-lived strings per event on several
/// threads; mimalloc's thread-local pages made live catch-up measurably faster than
/// glibc malloc (see benches/kafka.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    accesswatch::cmd::main()
}
