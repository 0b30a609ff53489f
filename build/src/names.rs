//! Function names from a wasm `name` section, demangled, for gas profiles.

use std::collections::BTreeMap;
use wasmparser::{Name, Parser, Payload};

/// Function index (imports first) to its demangled name without the hash suffix
/// (`escrow::Escrow::create`). Empty when the module has no name section.
pub fn function_names(wasm: &[u8]) -> Result<BTreeMap<u32, String>, wasmparser::BinaryReaderError> {
    let mut out = BTreeMap::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let Payload::CustomSection(c) = payload? else {
            continue;
        };
        let wasmparser::KnownCustom::Name(reader) = c.as_known() else {
            continue;
        };
        for name in reader {
            if let Name::Function(map) = name? {
                for naming in map {
                    let naming = naming?;
                    out.insert(naming.index, demangle(naming.name));
                }
            }
        }
    }
    Ok(out)
}

/// `_ZN11chainvm_sdk7storage3get17h…E` as `chainvm_sdk::storage::get`; other names as they are.
pub fn demangle(symbol: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_demangles_the_name_section() {
        let wasm = wat::parse_str(
            r#"(module
                (func $_ZN11chainvm_sdk7storage3get17hb52b5175adc94f16E)
                (func $create (export "create")))"#,
        )
        .unwrap();
        let names = function_names(&wasm).unwrap();
        assert_eq!(
            names.get(&0).map(String::as_str),
            Some("chainvm_sdk::storage::get")
        );
        assert_eq!(names.get(&1).map(String::as_str), Some("create"));
        let stripped = crate::strip::strip(&wasm).unwrap();
        assert!(function_names(&stripped).unwrap().is_empty());
    }
}
