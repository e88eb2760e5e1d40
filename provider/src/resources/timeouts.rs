//! The `timeouts { create read update delete }` block (Go duration strings like `30m`,
//! `1h30m`, `90s`): its model, where the values live, and how an operation picks its deadline.
//!
//! Timeouts say how long the provider waits; they are not part of the remote object. So they
//! never cause a diff or an API call:
//!
//! - the block is a *group* block (always present, never null) whose attributes are
//!   write-only: Terraform never stores them in state or plan, so adding, changing or removing
//!   `timeouts` (also right after an import) plans nothing;
//! - create and update read them from the configuration; the values of the last create or
//!   update are kept in the resource's private state, where read and delete (which get no
//!   configuration) find them. A timeouts-only change therefore takes effect at the next
//!   create or update.

use std::time::Duration;

use crate::plugin::model::{Model, Tf};
use crate::plugin::{AttributePath, Diagnostic, Diagnostics};

/// Default timeouts of one resource type.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// Create.
    pub create: Duration,
    /// Read.
    pub read: Duration,
    /// Update.
    pub update: Duration,
    /// Delete.
    pub delete: Duration,
}

/// azurerm's session pool defaults: 30 minutes, read 5 minutes.
pub const POOL_DEFAULTS: Defaults = Defaults {
    create: Duration::from_secs(1800),
    read: Duration::from_secs(300),
    update: Duration::from_secs(1800),
    delete: Duration::from_secs(1800),
};

/// Per-operation time limits (durations like `30m`, `1h`, `90s`). Write-only: they never
/// appear in state or plan, so changing them plans no change. Create and update use the
/// configured values; read and delete use those of the last create or update. Defaults: create,
/// update and delete `30m`, read `5m`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Timeouts {
    /// How long to wait for the create.
    #[tf(optional, write_only)]
    pub create: Tf<String>,
    /// How long to wait for a refresh.
    #[tf(optional, write_only)]
    pub read: Tf<String>,
    /// How long to wait for an in-place update.
    #[tf(optional, write_only)]
    pub update: Tf<String>,
    /// How long to wait for the delete.
    #[tf(optional, write_only)]
    pub delete: Tf<String>,
}

/// Which operation a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create.
    Create,
    /// Read.
    Read,
    /// Update.
    Update,
    /// Delete.
    Delete,
}

impl Timeouts {
    /// The configured duration for `op`, if any (unparseable values were refused at plan).
    fn configured(&self, op: Op) -> Option<&str> {
        match op {
            Op::Create => self.create.as_str(),
            Op::Read => self.read.as_str(),
            Op::Update => self.update.as_str(),
            Op::Delete => self.delete.as_str(),
        }
    }

    /// The deadline of `op`: the configured value, else the default.
    pub fn get(&self, op: Op, defaults: &Defaults) -> Duration {
        let fallback = match op {
            Op::Create => defaults.create,
            Op::Read => defaults.read,
            Op::Update => defaults.update,
            Op::Delete => defaults.delete,
        };
        self.configured(op)
            .and_then(|s| parse_duration(s).ok())
            .unwrap_or(fallback)
    }

    /// The private-state bytes that carry these timeouts to later reads and deletes.
    pub fn to_private(&self) -> Vec<u8> {
        let pick = |t: &Tf<String>| t.as_str().map(str::to_string);
        let j = serde_json::json!({ "timeouts": {
            "create": pick(&self.create), "read": pick(&self.read),
            "update": pick(&self.update), "delete": pick(&self.delete),
        }});
        j.to_string().into_bytes()
    }

    /// The timeouts stored by [`Timeouts::to_private`] (none when `private` holds none).
    pub fn from_private(private: &[u8]) -> Timeouts {
        let j: serde_json::Value = serde_json::from_slice(private).unwrap_or_default();
        let t = &j["timeouts"];
        let get = |k: &str| Tf::from_option(t[k].as_str().map(str::to_string));
        Timeouts {
            create: get("create"),
            read: get("read"),
            update: get("update"),
            delete: get("delete"),
        }
    }

    /// Errors for every value that is not a duration, at `base.timeouts.<op>`.
    pub fn validate(&self, base: &AttributePath) -> Diagnostics {
        let mut d = Diagnostics::new();
        for (name, v) in [
            (Self::CREATE, &self.create),
            (Self::READ, &self.read),
            (Self::UPDATE, &self.update),
            (Self::DELETE, &self.delete),
        ] {
            if let Some(s) = v.as_str() {
                if let Err(e) = parse_duration(s) {
                    d.push(
                        Diagnostic::error(format!("Invalid value for `{name}`"), e)
                            .at(base.clone().then_attr(name)),
                    );
                }
            }
        }
        d
    }

    /// The group block's value with every attribute null (what state and plan hold).
    pub fn state_value() -> Tf<Timeouts> {
        Tf::Known(Timeouts::default())
    }
}

/// Parses a Go-style duration: one or more `<number><unit>` with units `h`, `m`, `s`, `ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; use forms like \"30m\", \"1h30m\" or \"90s\"");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1.0e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way the docs show defaults (`30m`, `5m`, `1h`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 && s > 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s > 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Value;
    use proptest::prelude::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "m", "30", "30x", "1h 30m", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn get_uses_defaults() {
        let v = Value::object([("create", Value::from("2m"))]);
        let t = Timeouts::from_value(&v).unwrap();
        assert_eq!(t.get(Op::Create, &POOL_DEFAULTS), Duration::from_secs(120));
        assert_eq!(t.get(Op::Read, &POOL_DEFAULTS), Duration::from_secs(300));
        assert_eq!(format_duration(POOL_DEFAULTS.create), "30m");
    }

    #[test]
    fn private_round_trip() {
        let t = Timeouts {
            delete: "2h".into(),
            ..Default::default()
        };
        assert_eq!(Timeouts::from_private(&t.to_private()), t);
        assert_eq!(Timeouts::from_private(b""), Timeouts::default());
        assert_eq!(Timeouts::from_private(b"garbage"), Timeouts::default());
    }

    #[test]
    fn write_only_group_block() {
        let b = Timeouts::block();
        assert!(b.attributes.iter().all(|a| a.write_only && a.optional));
        let bad = Timeouts {
            read: "soon".into(),
            ..Default::default()
        };
        let d = bad.validate(&AttributePath::attr("timeouts"));
        assert_eq!(
            d.iter().next().unwrap().path,
            Some(AttributePath::attr("timeouts").then_attr("read"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn round_trips_minutes(m in 1u64..100000) {
            prop_assert_eq!(parse_duration(&format!("{m}m")).unwrap(), Duration::from_secs(m * 60));
        }
    }
}
