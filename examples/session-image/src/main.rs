//! The sample session container: a small static HTTP server listening on 8080.

fn main() {
    eprintln!("sample-session: not yet implemented");
}
