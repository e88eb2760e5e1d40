//! Normalisation of responses before they are compared with snapshots: whatever differs
//! between two correct runs (ids, times, GUIDs, hosts, ports, run names) becomes a
//! placeholder, so that a snapshot recorded against Azure matches the emulator's answer
//! wherever both behave the same.
//!
//! Rules, applied to every string of a JSON value (keys are kept):
//! 1. the origin of every URL (`scheme://host[:port]`) becomes `{origin}`;
//! 2. the literal values of the run ([`Normaliser::literal`]: subscription, resource group,
//!    tenant, run id, ...) become `{subscription}`, `{resourceGroup}`, ...;
//! 3. RFC 3339 times become `{time}`;
//! 4. GUIDs become `{guid}`;
//! 5. the values of `etag` and of `x-ms-*` ids become `{etag}` / `{id}`.

use serde_json::{Map, Value};

/// Replaces run-specific values by placeholders.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    literals: Vec<(String, String)>,
}

impl Normaliser {
    /// A normaliser with no literals.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces `value` (case-insensitively) by `{placeholder}`; longer values first.
    pub fn literal(mut self, value: &str, placeholder: &str) -> Self {
        if !value.is_empty() {
            self.literals
                .push((value.to_ascii_lowercase(), format!("{{{placeholder}}}")));
            self.literals.sort_by_key(|l| std::cmp::Reverse(l.0.len()));
        }
        self
    }

    /// The normalised copy of `v`.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let lk = k.to_ascii_lowercase();
                    let nx = if (lk == "etag" || lk.starts_with("x-ms-") && lk.ends_with("-id"))
                        && x.is_string()
                    {
                        Value::String(if lk == "etag" {
                            "{etag}".into()
                        } else {
                            "{id}".into()
                        })
                    } else {
                        self.value(x)
                    };
                    out.insert(k.clone(), nx);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }

    /// The normalised copy of a string.
    pub fn text(&self, s: &str) -> String {
        let mut out = origins(s);
        for (lit, ph) in &self.literals {
            out = replace_ci(&out, lit, ph);
        }
        out = times(&out);
        guids(&out)
    }
}

fn replace_ci(s: &str, lower_needle: &str, with: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(at) = lower[i..].find(lower_needle) {
        out.push_str(&s[i..i + at]);
        out.push_str(with);
        i += at + lower_needle.len();
    }
    out.push_str(&s[i..]);
    out
}

/// `http(s)://host[:port]` -> `{origin}`.
fn origins(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let at = [rest.find("https://"), rest.find("http://")]
            .into_iter()
            .flatten()
            .min();
        let Some(at) = at else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let scheme_len = if after.starts_with("https://") { 8 } else { 7 };
        let host_len = after[scheme_len..]
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            })
            .unwrap_or(after.len() - scheme_len);
        out.push_str("{origin}");
        rest = &after[scheme_len + host_len..];
    }
}

/// True for `YYYY-MM-DDTHH:MM:SS` at the start of `b`.
fn time_at(b: &[u8]) -> bool {
    const PAT: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    b.len() >= PAT.len()
        && PAT.iter().zip(b).all(|(p, c)| match p {
            b'd' => c.is_ascii_digit(),
            p => p == c,
        })
}

/// RFC 3339 date-times (any fraction, `Z` or offset) -> `{time}`.
fn times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if time_at(&b[i..]) && s.is_char_boundary(i) {
            let mut j = i + 19;
            if j < b.len() && b[j] == b'.' {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if j < b.len() && (b[j] == b'Z' || b[j] == b'z') {
                j += 1;
            } else if j + 6 <= b.len() && (b[j] == b'+' || b[j] == b'-') && b[j + 3] == b':' {
                j += 6;
            }
            out.push_str("{time}");
            i = j;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// True for a GUID in its 8-4-4-4-12 form.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn guids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s.is_char_boundary(i)
            && i + 36 <= s.len()
            && s.is_char_boundary(i + 36)
            && is_guid(&s[i..i + 36])
        {
            out.push_str("{guid}");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn n() -> Normaliser {
        Normaliser::new()
            .literal("00000000-0000-4000-8000-000000000001", "subscription")
            .literal("sessions-dev", "resourceGroup")
            .literal("rabc12", "run")
    }

    #[test]
    fn a_pool_from_the_emulator_and_one_from_azure_normalise_alike() {
        let emulator = json!({
            "id": "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/sessionPools/scrabc12pool",
            "etag": "\"0x1\"",
            "systemData": {"createdAt": "2026-12-06T17:50:01.123456Z"},
            "identity": {"principalId": "5b7f0f5e-7a1a-4e0e-9a1e-0f0e0d0c0b0a"},
            "properties": {"poolManagementEndpoint": "https://127.0.0.1:41234", "provisioningState": "Succeeded"}
        });
        let azure = json!({
            "id": "/subscriptions/00000000-0000-4000-8000-000000000001/resourcegroups/SESSIONS-DEV/providers/Microsoft.App/sessionPools/scrabc12pool",
            "etag": "\"a7000000-0000\"",
            "systemData": {"createdAt": "2026-12-06T17:50:01+00:00"},
            "identity": {"principalId": "11111111-2222-3333-4444-555555555555"},
            "properties": {"poolManagementEndpoint": "https://scrabc12pool.happyriver-1a2b.eastus.azurecontainerapps.io", "provisioningState": "Succeeded"}
        });
        let (a, b) = (n().value(&emulator), n().value(&azure));
        // resourceGroups vs resourcegroups: ARM's casing differs; the literal is replaced either way.
        assert_eq!(a["properties"], b["properties"]);
        assert_eq!(a["etag"], b["etag"]);
        assert_eq!(a["systemData"], b["systemData"]);
        assert_eq!(a["identity"], b["identity"]);
        insta::assert_json_snapshot!(a);
    }

    #[test]
    fn hosts_ports_times_and_guids_in_text() {
        insta::assert_snapshot!(n().text(
            "Session user-1 in session pool scrabc12p at http://127.0.0.1:8080/x?y=1 stopped at 2026-01-01T00:00:00.5Z by 5b7f0f5e-7a1a-4e0e-9a1e-0f0e0d0c0b0a"
        ));
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent_and_never_panics(s in "\\PC{0,80}") {
            let once = n().text(&s);
            prop_assert_eq!(n().text(&once), once);
        }

        #[test]
        fn any_guid_becomes_a_placeholder(g in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}") {
            prop_assert_eq!(n().text(&format!("id {g}.")), "id {guid}.");
        }
    }
}
