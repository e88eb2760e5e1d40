//! The conformance crate's one integration-test binary: the README's first five minutes
//! ([`first_five_minutes`]), the harness's own binary and reports ([`suites`]), and what a
//! team puts in CI: the image check, the terraform suite and `terraform test` ([`ci`]).
//! Shared helpers (workspace paths, building the release emulator as a user would) are in
//! [`support`].

mod ci;
mod first_five_minutes;
mod suites;
mod support;
