//! Reliability figures: how many inputs, rounds or cycles a test tries comes from the
//! environment (so `scripts/bench-reliability` can run the long soak with the same code
//! `make test` runs short), and each test prints one line that the bench collects into the
//! table of `docs/reliability.md`:
//!
//! `RELIABILITY-FIGURE <TAB> test <TAB> tried <TAB> failed <TAB> figure`
//!
//! (stderr; visible with `cargo nextest run --no-capture`).

/// `default`, or the positive number in the environment variable `var`.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Prints the figure line of `test`.
pub fn report(test: &str, tried: impl std::fmt::Display, failed: usize, figure: &str) {
    eprintln!("RELIABILITY-FIGURE\t{test}\t{tried}\t{failed}\t{figure}");
}
