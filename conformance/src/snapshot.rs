//! Recorded snapshots of normalised responses (`conformance/snapshots/*.snap`, in insta's
//! file format so `cargo insta` shows them): a case calls [`crate::case::Ctx::snapshot`] with
//! a name and a value; the value is normalised ([`crate::normalise`]) and compared with the
//! snapshot `{suite}__{case}__{name}.snap` built into the binary. `--record` writes the
//! snapshot instead (into `--snapshot-dir`, by default `conformance/snapshots` of the
//! checkout); its header says where and when it was recorded.

use std::path::PathBuf;

use serde_json::Value;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/snapshots.rs"));
}

/// Where snapshots come from and go.
#[derive(Debug, Clone)]
pub struct Snapshots {
    /// Write instead of compare.
    pub record: bool,
    /// Where `--record` writes.
    pub dir: PathBuf,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots {
            record: false,
            dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots")),
        }
    }
}

/// The file name of a snapshot.
pub fn file_name(case_id: &str, name: &str) -> String {
    format!("{}__{name}.snap", case_id.replace('/', "__"))
}

/// The recorded value of snapshot file `file`, if built in.
pub fn recorded(file: &str) -> Option<Value> {
    embedded::EMBEDDED
        .iter()
        .find(|(f, _)| *f == file)
        .and_then(|(_, text)| parse(text))
}

/// The JSON body of an insta `.snap` file (after its second `---` line).
pub fn parse(text: &str) -> Option<Value> {
    let mut parts = text.splitn(3, "---\n");
    parts.next()?;
    parts.next()?;
    serde_json::from_str(parts.next()?).ok()
}

/// The text of a snapshot file for `value`, recorded against `target` at `at`.
pub fn render(case_id: &str, name: &str, value: &Value, target: &str, at: &str) -> String {
    format!(
        "---\nsource: conformance/src/suites/{}.rs\nexpression: {name}\ninfo:\n  recordedAgainst: {target:?}\n  recordedAt: {at:?}\n---\n{}\n",
        case_id.split('/').next().unwrap_or_default(),
        serde_json::to_string_pretty(value).unwrap_or_default()
    )
}

/// The first difference between `want` and `got` as `path: want X, got Y`.
pub fn first_difference(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(g) => {
                        if let Some(d) = first_difference(v, g, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: recorded {v}, missing in the answer")),
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}.{k}: not recorded, answered {}", b[k]))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!(
                    "{path}: recorded {} items, answered {}",
                    a.len(),
                    b.len()
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: recorded {a}, answered {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn render_then_parse_round_trips_and_names_the_target() {
        let v = json!({"a": [1, {"b": "{guid}"}]});
        let text = render(
            "arm/pool_crud",
            "get",
            &v,
            "emulator",
            "2026-01-01T00:00:00Z",
        );
        assert!(text.starts_with("---\nsource: conformance/src/suites/arm.rs\nexpression: get\n"));
        assert!(text.contains("recordedAgainst: \"emulator\""));
        assert_eq!(parse(&text), Some(v));
        assert_eq!(
            file_name("arm/pool_crud", "get"),
            "arm__pool_crud__get.snap"
        );
    }

    #[test]
    fn the_first_difference_names_its_path() {
        let want = json!({"a": {"b": [1, 2]}, "c": 1});
        assert_eq!(first_difference(&want, &want, "$"), None);
        assert_eq!(
            first_difference(&want, &json!({"a": {"b": [1, 3]}, "c": 1}), "$").unwrap(),
            "$.a.b[1]: recorded 2, answered 3"
        );
        assert_eq!(
            first_difference(&want, &json!({"a": {"b": [1, 2]}, "c": 1, "d": 0}), "$").unwrap(),
            "$.d: not recorded, answered 0"
        );
    }

    #[test]
    fn every_embedded_snapshot_parses() {
        for (f, text) in embedded::EMBEDDED {
            assert!(parse(text).is_some(), "{f} is no snapshot file");
        }
    }
}
