//! A gas profile as folded stacks and as a flamegraph SVG.
//!
//! Folded stacks (`root;caller;callee gas`, one line per stack) are the format flamegraph
//! tools read; the SVG is drawn by `inferno`. Function indices become the names of the
//! profiling twin's name section ([`crate::names`]), host functions `host::<import>`.

use chainvm_vm::profile::{Frame, GasProfile};
use std::collections::BTreeMap;

/// The label of one frame.
fn label(frame: &Frame, names: &BTreeMap<u32, String>) -> String {
    match frame {
        Frame::Func(i) => names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("func[{i}]")),
        Frame::Host(name) => format!("host::{name}"),
        Frame::Intrinsic => "intrinsic".into(),
        Frame::Loading => "loading".into(),
        Frame::Memory => "memory".into(),
    }
}

/// The profile as folded-stack lines under `root` (say `escrow.create`), heaviest first, so
/// the first line names where most gas went. Stacks with no gas are left out.
pub fn folded(profile: &GasProfile, names: &BTreeMap<u32, String>, root: &str) -> Vec<String> {
    let mut lines: Vec<(u64, String)> = profile
        .stacks
        .iter()
        .filter(|(_, gas)| **gas > 0)
        .map(|(stack, gas)| {
            let mut path = vec![root.replace(';', ":")];
            path.extend(stack.iter().map(|f| label(f, names).replace(';', ":")));
            (*gas, format!("{} {gas}", path.join(";")))
        })
        .collect();
    lines.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    lines.into_iter().map(|(_, l)| l).collect()
}

/// Draws folded-stack lines as a flamegraph SVG titled `title`, widths in gas. Colours come
/// from the function names, so the same profile draws the same picture.
pub fn svg(lines: &[String], title: &str) -> std::io::Result<Vec<u8>> {
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = "gas".to_string();
    opts.hash = true;
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_named_stacks_heaviest_first_and_draws_them() {
        let mut p = GasProfile::default();
        p.stacks.insert(vec![Frame::Loading], 100);
        p.stacks.insert(vec![Frame::Func(3)], 50);
        p.stacks.insert(vec![Frame::Func(3), Frame::Func(7)], 900);
        p.stacks
            .insert(vec![Frame::Func(3), Frame::Host("storage_set".into())], 300);
        p.stacks.insert(vec![Frame::Func(3), Frame::Func(9)], 0);
        let names = BTreeMap::from([(3, "bump".to_string()), (7, "counter::hot".to_string())]);
        let lines = folded(&p, &names, "counter.bump");
        assert_eq!(
            lines,
            [
                "counter.bump;bump;counter::hot 900",
                "counter.bump;bump;host::storage_set 300",
                "counter.bump;loading 100",
                "counter.bump;bump 50",
            ]
        );
        let svg = String::from_utf8(svg(&lines, "bump").unwrap()).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("counter::hot"));
        assert_eq!(
            svg,
            String::from_utf8(super::svg(&lines, "bump").unwrap()).unwrap()
        );
    }
}
