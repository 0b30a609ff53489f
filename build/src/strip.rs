//! The deployable wasm from the profile's build: the toolchain's own custom sections removed.
//!
//! The profile links with symbols kept, so the build has a `name` section for gas profiles.
//! Removing `name`, `producers`, `target_features` and any DWARF (`.debug_*`) leaves exactly
//! the bytes `strip = true` produces; every other section (code, data, the contract's ABI
//! sections) is copied byte for byte, so the twin and the deployed code share function
//! indices.

use wasmparser::{Parser, Payload};

/// Whether a custom section is one the linker writes for tools, not for running.
fn toolchain_section(name: &str) -> bool {
    matches!(name, "name" | "producers" | "target_features") || name.starts_with(".debug")
}

/// `wasm` without the toolchain's custom sections. Malformed input is an error.
pub fn strip(wasm: &[u8]) -> Result<Vec<u8>, wasmparser::BinaryReaderError> {
    let mut out = Vec::with_capacity(wasm.len());
    let mut kept_until = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version { range, .. } => {
                out.extend_from_slice(&wasm[..range.end]);
                kept_until = range.end;
            }
            // Sections are contiguous and each one moves `kept_until` to its end, so a
            // dropped section (header included) is exactly `kept_until..range.end`.
            Payload::CustomSection(c) if toolchain_section(c.name()) => {
                kept_until = payload.as_section().map_or(c.range().end, |(_, r)| r.end);
            }
            _ => {
                if let Some((_, range)) = payload.as_section() {
                    out.extend_from_slice(&wasm[kept_until..range.end]);
                    kept_until = range.end;
                }
            }
        }
    }
    out.extend_from_slice(&wasm[kept_until..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_names_and_keeps_everything_else_byte_for_byte() {
        let wasm = wat::parse_str(
            r#"(module $m
                (func $main (export "main") (call $inner))
                (func $inner)
                (@custom "chainvm_abi" "{}")
                (@producers (language "rust" "1.95")))"#,
        )
        .unwrap();
        let names = |w: &[u8]| -> Vec<String> {
            Parser::new(0)
                .parse_all(w)
                .filter_map(|p| match p.unwrap() {
                    Payload::CustomSection(c) => Some(c.name().to_string()),
                    _ => None,
                })
                .collect()
        };
        assert!(names(&wasm).contains(&"name".to_string()));
        let stripped = strip(&wasm).unwrap();
        assert_eq!(names(&stripped), ["chainvm_abi"]);
        wasmparser::validate(&stripped).unwrap();
        // Stripping is idempotent and the code is untouched.
        assert_eq!(strip(&stripped).unwrap(), stripped);
        let code = |w: &[u8]| -> Vec<u8> {
            Parser::new(0)
                .parse_all(w)
                .find_map(|p| match p.unwrap() {
                    Payload::CodeSectionStart { range, .. } => Some(w[range].to_vec()),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(code(&wasm), code(&stripped));
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(strip(b"\0asm\x01\0\0\0\x0a\xff").is_err());
    }
}
