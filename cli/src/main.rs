//! `chainvm`: the command-line tool. Its commands arrive with the chain issue.

fn main() {
    println!(
        "chainvm {} (gas schedule v{})",
        env!("CARGO_PKG_VERSION"),
        chainvm_runtime::vm::GasSchedule::default().version
    );
}
