//! [`AttributePath`]: where in a configuration or state a diagnostic or a replacement applies.
//!
//! Built fluently: `AttributePath::attr("container").index(0).attr("image")`. Sets cannot be
//! indexed, so a path stops at the set attribute.

use std::fmt;

use super::proto::tfplugin6 as pb;

/// One step of an [`AttributePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute or nested block by name.
    Attribute(String),
    /// A map element by key.
    Key(String),
    /// A list or tuple element by index.
    Index(i64),
}

/// A path from the root object to a nested value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath {
    steps: Vec<PathStep>,
}

impl AttributePath {
    /// The empty path (the whole object).
    pub fn root() -> Self {
        Self::default()
    }

    /// A path starting with attribute `name`.
    pub fn attr(name: impl Into<String>) -> Self {
        Self::root().then_attr(name)
    }

    /// Appends an attribute step.
    pub fn then_attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attribute(name.into()));
        self
    }

    /// Appends a map-key step.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }

    /// Appends a list-index step.
    pub fn index(mut self, index: i64) -> Self {
        self.steps.push(PathStep::Index(index));
        self
    }

    /// Appends any step (useful when walking values).
    pub fn push(&mut self, step: PathStep) {
        self.steps.push(step);
    }

    /// The steps from the root.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    /// The name of the last attribute step (what a diagnostic calls the value).
    pub fn last_attribute(&self) -> Option<&str> {
        self.steps.iter().rev().find_map(|s| match s {
            PathStep::Attribute(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// True for the root path (no steps).
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .steps
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                        PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                        PathStep::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }

    /// From the wire form; steps without a selector are skipped.
    pub fn from_proto(p: &pb::AttributePath) -> Self {
        use pb::attribute_path::step::Selector;
        Self {
            steps: p
                .steps
                .iter()
                .filter_map(|s| {
                    Some(match s.selector.as_ref()? {
                        Selector::AttributeName(n) => PathStep::Attribute(n.clone()),
                        Selector::ElementKeyString(k) => PathStep::Key(k.clone()),
                        Selector::ElementKeyInt(i) => PathStep::Index(*i),
                    })
                })
                .collect(),
        }
    }
}

/// Renders like Terraform: `container[0].env["A"]`.
impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(n) if i == 0 => write!(f, "{n}")?,
                PathStep::Attribute(n) => write!(f, ".{n}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(ix) => write!(f, "[{ix}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_and_round_trips() {
        let p = AttributePath::attr("container")
            .index(0)
            .then_attr("env")
            .key("A");
        assert_eq!(p.to_string(), r#"container[0].env["A"]"#);
        assert_eq!(AttributePath::from_proto(&p.to_proto()), p);
        assert!(AttributePath::root().is_root());
    }
}
