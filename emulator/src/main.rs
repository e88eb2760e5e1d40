//! `sessions-emulator` binary: parses the command line and runs the emulator
//! (see [`sessions_emulator::cli`]).

fn main() -> std::process::ExitCode {
    sessions_emulator::cli::main()
}
