//! `sessions-agent`: static PID 1 inside each session microVM.

fn main() {
    eprintln!("sessions-agent: not yet implemented");
}
