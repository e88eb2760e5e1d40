//! `sessions-conformance` binary.

fn main() {
    eprintln!("sessions-conformance: no suites yet (see the conformance issue)");
}
