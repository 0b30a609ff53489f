//! The chainvm benchmark suite lives in `benches/suite/`; run it with
//! `cargo bench -p chainvm-bench` (see `BENCHMARKS.md`). This library is empty on purpose:
//! the peers it measures against (wasmi, revm) are dev-dependencies of the bench target only,
//! so `cargo test --workspace` never builds them.
