//! The `eaof` command.
fn main() {}
