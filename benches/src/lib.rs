//! Benchmarks of ADIT-RS. Each benchmark is a binary under `src/bin/` that runs ADIT-RS and the
//! reference tool side by side on the same data and prints its figures; `docs/benchmarks.md`
//! records them with the command that reproduces them.
