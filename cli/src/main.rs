//! The `chainvm` command; everything lives in the library (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    chainvm_cli::main()
}
