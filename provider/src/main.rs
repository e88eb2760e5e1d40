//! `terraform-provider-azuresessions` binary: go-plugin handshake and serve.

fn main() {
    eprintln!("terraform-provider-azuresessions: not yet implemented");
    std::process::exit(1);
}
