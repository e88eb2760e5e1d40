//! `sessions-emulator` binary: parses the command line and runs the emulator.

fn main() {
    eprintln!("sessions-emulator: not yet implemented");
    std::process::exit(1);
}
