//! The headline figures of one run, written to `target/bench-summary.json` so the figures
//! issue #16 tracks live in one place: same-run ratios, and the pruned node's bytes per
//! empty block.

use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Headline figures; a section that did not run leaves its keys out.
#[derive(Default)]
pub struct Summary {
    headline: Map<String, Value>,
}

impl Summary {
    /// Records one figure (rounded to 4 decimals: they come from timings).
    pub fn record(&mut self, key: &str, value: f64) {
        let rounded = (value * 10_000.0).round() / 10_000.0;
        self.headline.insert(key.into(), json!(rounded));
    }

    /// Writes the summary next to the build's outputs and says where.
    pub fn write(self, command: &str) {
        let Some(path) = target_dir().map(|t| t.join("bench-summary.json")) else {
            println!("\n(no target directory found: bench-summary.json not written)");
            return;
        };
        let doc = json!({
            "machine": crate::util::machine(),
            "date": today(),
            "command": command,
            "headline": self.headline,
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        match std::fs::write(&path, text + "\n") {
            Ok(()) => println!("\nHeadline figures written to {}", path.display()),
            Err(e) => println!("\ncannot write {}: {e}", path.display()),
        }
    }
}

/// `target/` of this build: the bench binary is `target/<profile>/deps/suite-<hash>`.
fn target_dir() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// Today's UTC date as `YYYY-MM-DD` (report metadata only).
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
