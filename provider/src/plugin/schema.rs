//! Schemas are data: one declaration per Terraform type drives the wire schema, the msgpack
//! codec (through [`Block::implied_type`]), planning helpers and the docs generator.
//!
//! ```
//! use terraform_provider_azuresessions::plugin::schema::{Attribute, Block, NestedBlock, Schema};
//! use terraform_provider_azuresessions::plugin::Type;
//! let schema = Schema::new(0, Block::new()
//!     .description("A session pool.")
//!     .attribute(Attribute::string("name").required().force_new().description("Pool name."))
//!     .attribute(Attribute::string("id").computed())
//!     .attribute(Attribute::new("tags", Type::map(Type::String)).optional())
//!     .attribute(Attribute::string("secret").optional().sensitive().write_only())
//!     .block(NestedBlock::list("container", Block::new()
//!         .attribute(Attribute::string("image").required()))
//!         .min_items(1).max_items(1)));
//! assert!(schema.validate().is_ok());
//! ```
//!
//! Descriptions are Markdown (`description_kind = MARKDOWN` on the wire).

use std::collections::BTreeMap;

use super::path::AttributePath;
use super::proto::tfplugin6 as pb;
use super::types::Type;
use super::value::Value;

/// A versioned schema (resource, data source, action, provider).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// State version; bump when the stored shape changes (see `Resource::upgrade_state`).
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes plus nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// Attributes in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested blocks in declaration order.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Deprecated block.
    pub deprecated: bool,
    /// Why it is deprecated / what to use instead.
    pub deprecation_message: String,
}

/// The type of an attribute: a plain type or a nested-attribute object (`x = { ... }`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeType {
    /// A plain type constraint.
    Plain(Type),
    /// Nested attributes with a nesting mode.
    Nested(NestedAttributes),
}

/// Nested attributes (`Schema.Object` on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct NestedAttributes {
    /// The nested attributes.
    pub attributes: Vec<Attribute>,
    /// Single object, list, set or map of objects.
    pub nesting: ObjectNesting,
}

/// Nesting of nested attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectNesting {
    /// One object.
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// Attribute name (snake_case).
    pub name: String,
    /// Its type.
    pub ty: AttributeType,
    /// Markdown description.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// Set by the provider (together with `optional`: provider default when unset).
    pub computed: bool,
    /// Redacted in Terraform's output.
    pub sensitive: bool,
    /// Only in configuration, never stored in state (Terraform 1.11+).
    pub write_only: bool,
    /// Deprecated attribute.
    pub deprecated: bool,
    /// Why it is deprecated / what to use instead.
    pub deprecation_message: String,
    /// Not on the wire: a change of this attribute replaces the resource. Used by the default
    /// plan (`plugin::plan`) to fill `requires_replace`, and by the docs generator.
    pub force_new: bool,
    /// Not on the wire: the value planned when the configuration leaves the attribute out
    /// (the attribute is optional + computed). Used by [`super::plan::plan_defaults`] and by
    /// the docs generator.
    pub default: Option<Value>,
}

/// Nesting of a nested block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockNesting {
    /// At most one block; null when absent.
    Single,
    /// A list of blocks.
    List,
    /// A set of blocks.
    Set,
    /// Labelled blocks (`x "label" {}`), a map of objects.
    Map,
    /// Exactly one block, never null (synthesized empty when absent).
    Group,
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlock {
    /// Block type name.
    pub type_name: String,
    /// Its content.
    pub block: Block,
    /// Nesting mode.
    pub nesting: BlockNesting,
    /// Minimum number of blocks (0 = none).
    pub min_items: i64,
    /// Maximum number of blocks (0 = no limit).
    pub max_items: i64,
    /// Not on the wire: any change of the blocks replaces the resource.
    pub force_new: bool,
}

/// A schema that Terraform would reject.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid schema at `{path}`: {problem}")]
pub struct SchemaError {
    /// Where.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl Schema {
    /// A schema with a version and top-level block.
    pub fn new(version: i64, block: Block) -> Self {
        Self { version, block }
    }

    /// The implied object type of a value of this schema.
    pub fn implied_type(&self) -> Type {
        self.block.implied_type()
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }

    /// Checks the rules Terraform enforces on provider schemas.
    pub fn validate(&self) -> Result<(), SchemaError> {
        self.block.validate("", false)
    }

    /// Paths of all `force_new` attributes (top level and inside single/group blocks).
    pub fn force_new_paths(&self) -> Vec<AttributePath> {
        let mut out = Vec::new();
        self.block
            .collect_force_new(&AttributePath::root(), &mut out);
        out
    }

    /// Paths of all write-only attributes (top level and inside single/group blocks; deeper
    /// ones are nulled by walking values, see `plugin::plan::null_write_only`).
    pub fn has_write_only(&self) -> bool {
        self.block.has_write_only()
    }
}

impl Block {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the Markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }

    /// Marks deprecated with a message.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = true;
        self.deprecation_message = message.into();
        self
    }

    /// Looks up an attribute by name.
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Looks up a nested block by type name.
    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }

    /// The implied object type.
    pub fn implied_type(&self) -> Type {
        let mut attrs = BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.ty.implied_type());
        }
        for b in &self.blocks {
            let obj = b.block.implied_type();
            let ty = match b.nesting {
                BlockNesting::Single | BlockNesting::Group => obj,
                // Terraform uses a tuple for lists whose objects contain dynamic attributes;
                // we do not declare such blocks, so a list is always a list here.
                BlockNesting::List => Type::list(obj),
                BlockNesting::Set => Type::set(obj),
                BlockNesting::Map => Type::map(obj),
            };
            attrs.insert(b.type_name.clone(), ty);
        }
        Type::Object(attrs)
    }

    fn to_proto(&self, version: i64) -> pb::schema::Block {
        pb::schema::Block {
            version,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self.blocks.iter().map(NestedBlock::to_proto).collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            deprecation_message: self.deprecation_message.clone(),
        }
    }

    fn validate(&self, prefix: &str, in_set: bool) -> Result<(), SchemaError> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.attributes {
            let path = join(prefix, &a.name);
            if !seen.insert(a.name.as_str()) {
                return Err(err(&path, "duplicate name"));
            }
            a.validate(&path, in_set)?;
        }
        for b in &self.blocks {
            let path = join(prefix, &b.type_name);
            if !seen.insert(b.type_name.as_str()) {
                return Err(err(&path, "duplicate name"));
            }
            if b.min_items < 0 || b.max_items < 0 || (b.max_items > 0 && b.min_items > b.max_items)
            {
                return Err(err(
                    &path,
                    "min_items/max_items must be >= 0 and min <= max",
                ));
            }
            if matches!(b.nesting, BlockNesting::Single | BlockNesting::Group)
                && (b.min_items > 1 || b.max_items > 1)
            {
                return Err(err(&path, "single and group blocks allow at most one item"));
            }
            b.block
                .validate(&path, in_set || b.nesting == BlockNesting::Set)?;
        }
        if self.deprecation_message.is_empty() || self.deprecated {
            Ok(())
        } else {
            Err(err(
                prefix,
                "deprecation_message is set but deprecated is false",
            ))
        }
    }

    fn collect_force_new(&self, base: &AttributePath, out: &mut Vec<AttributePath>) {
        for a in &self.attributes {
            if a.force_new {
                out.push(base.clone().then_attr(&a.name));
            }
        }
        for b in &self.blocks {
            if b.force_new {
                out.push(base.clone().then_attr(&b.type_name));
            } else if b.nesting == BlockNesting::Single || b.nesting == BlockNesting::Group {
                b.block
                    .collect_force_new(&base.clone().then_attr(&b.type_name), out);
            } else if b.block.any_force_new() {
                // Elements of collections cannot be addressed stably: replace on any change.
                out.push(base.clone().then_attr(&b.type_name));
            }
        }
    }

    fn any_force_new(&self) -> bool {
        self.attributes.iter().any(|a| a.force_new)
            || self
                .blocks
                .iter()
                .any(|b| b.force_new || b.block.any_force_new())
    }

    fn has_write_only(&self) -> bool {
        self.attributes.iter().any(|a| a.write_only)
            || self.blocks.iter().any(|b| b.block.has_write_only())
    }
}

impl AttributeType {
    /// The implied type.
    pub fn implied_type(&self) -> Type {
        match self {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested(n) => {
                let obj = Type::Object(
                    n.attributes
                        .iter()
                        .map(|a| (a.name.clone(), a.ty.implied_type()))
                        .collect(),
                );
                match n.nesting {
                    ObjectNesting::Single => obj,
                    ObjectNesting::List => Type::list(obj),
                    ObjectNesting::Set => Type::set(obj),
                    ObjectNesting::Map => Type::map(obj),
                }
            }
        }
    }
}

impl Attribute {
    /// An attribute of type `ty`; set one of required/optional/computed next.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty: AttributeType::Plain(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            deprecation_message: String::new(),
            force_new: false,
            default: None,
        }
    }
    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }
    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }
    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }
    /// A list attribute.
    pub fn list(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::list(elem))
    }
    /// A set attribute.
    pub fn set(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::set(elem))
    }
    /// A map attribute.
    pub fn map(name: impl Into<String>, elem: Type) -> Self {
        Self::new(name, Type::map(elem))
    }
    /// An object attribute with a fixed set of typed fields.
    pub fn object<I, S>(name: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Self::new(name, Type::object(fields))
    }
    /// A nested-attribute attribute (`x = { ... }` / `x = [{ ... }]`).
    pub fn nested(
        name: impl Into<String>,
        nesting: ObjectNesting,
        attributes: Vec<Attribute>,
    ) -> Self {
        let mut a = Self::new(name, Type::Dynamic);
        a.ty = AttributeType::Nested(NestedAttributes {
            attributes,
            nesting,
        });
        a
    }

    /// Must be set in configuration.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// May be set in configuration.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    /// Set by the provider.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    /// Redacted in output.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Never stored in state.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    /// Changing it replaces the resource.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// The value planned when the configuration leaves the attribute out; makes it optional
    /// and computed.
    pub fn default_value(mut self, v: Value) -> Self {
        self.default = Some(v);
        self.optional = true;
        self.computed = true;
        self
    }
    /// Deprecated, with a message naming the replacement.
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecated = true;
        self.deprecation_message = message.into();
        self
    }
    /// Markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        let (ty, nested) = match &self.ty {
            AttributeType::Plain(t) => (t.to_json_bytes(), None),
            AttributeType::Nested(n) => (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: n.attributes.iter().map(Attribute::to_proto).collect(),
                    nesting: match n.nesting {
                        ObjectNesting::Single => pb::schema::object::NestingMode::Single,
                        ObjectNesting::List => pb::schema::object::NestingMode::List,
                        ObjectNesting::Set => pb::schema::object::NestingMode::Set,
                        ObjectNesting::Map => pb::schema::object::NestingMode::Map,
                    } as i32,
                    ..Default::default()
                }),
            ),
        };
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: ty,
            nested_type: nested,
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            write_only: self.write_only,
            deprecation_message: self.deprecation_message.clone(),
        }
    }

    fn validate(&self, path: &str, in_set: bool) -> Result<(), SchemaError> {
        if !(self.required || self.optional || self.computed) {
            return Err(err(
                path,
                "one of required, optional or computed must be set",
            ));
        }
        if self.required && (self.optional || self.computed) {
            return Err(err(
                path,
                "required cannot be combined with optional or computed",
            ));
        }
        if self.write_only && (in_set || self.computed) {
            return Err(err(
                path,
                "write_only attributes cannot be computed or nested inside a set",
            ));
        }
        if !self.deprecation_message.is_empty() && !self.deprecated {
            return Err(err(
                path,
                "deprecation_message is set but deprecated is false",
            ));
        }
        if let AttributeType::Nested(n) = &self.ty {
            let in_set = in_set || n.nesting == ObjectNesting::Set;
            for a in &n.attributes {
                a.validate(&join(path, &a.name), in_set)?;
            }
        }
        Ok(())
    }
}

impl NestedBlock {
    /// A nested block with explicit nesting.
    pub fn new(type_name: impl Into<String>, nesting: BlockNesting, block: Block) -> Self {
        Self {
            type_name: type_name.into(),
            block,
            nesting,
            min_items: 0,
            max_items: 0,
            force_new: false,
        }
    }
    /// `x { }` at most once, null when absent.
    pub fn single(type_name: impl Into<String>, block: Block) -> Self {
        Self::new(type_name, BlockNesting::Single, block)
    }
    /// `x { }` repeated, a list.
    pub fn list(type_name: impl Into<String>, block: Block) -> Self {
        Self::new(type_name, BlockNesting::List, block)
    }
    /// `x { }` repeated, a set.
    pub fn set(type_name: impl Into<String>, block: Block) -> Self {
        Self::new(type_name, BlockNesting::Set, block)
    }
    /// Minimum count.
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    /// Maximum count.
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }
    /// Any change of these blocks replaces the resource.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        use pb::schema::nested_block::NestingMode as M;
        pb::schema::NestedBlock {
            type_name: self.type_name.clone(),
            block: Some(self.block.to_proto(0)),
            nesting: match self.nesting {
                BlockNesting::Single => M::Single,
                BlockNesting::List => M::List,
                BlockNesting::Set => M::Set,
                BlockNesting::Map => M::Map,
                BlockNesting::Group => M::Group,
            } as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn err(path: &str, problem: &str) -> SchemaError {
    SchemaError {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.into()
        },
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Schema {
        Schema::new(
            1,
            Block::new()
                .description("A thing.")
                .attribute(Attribute::string("name").required().force_new())
                .attribute(Attribute::string("id").computed())
                .attribute(Attribute::map("tags", Type::String).optional())
                .attribute(
                    Attribute::string("password")
                        .optional()
                        .sensitive()
                        .write_only(),
                )
                .attribute(
                    Attribute::nested(
                        "probe",
                        ObjectNesting::List,
                        vec![Attribute::number("port").required()],
                    )
                    .optional(),
                )
                .block(
                    NestedBlock::list(
                        "container",
                        Block::new().attribute(Attribute::string("image").required().force_new()),
                    )
                    .min_items(1),
                ),
        )
    }

    #[test]
    fn implied_type_covers_blocks_and_nested_attributes() {
        let t = sample().implied_type();
        assert_eq!(
            t.to_json().to_string(),
            r#"["object",{"container":["list",["object",{"image":"string"}]],"id":"string","name":"string","password":"string","probe":["list",["object",{"port":"number"}]],"tags":["map","string"]}]"#
        );
    }

    #[test]
    fn validates_flags() {
        assert!(sample().validate().is_ok());
        let bad = Schema::new(0, Block::new().attribute(Attribute::string("x")));
        assert!(bad.validate().unwrap_err().to_string().contains("`x`"));
        let bad = Schema::new(
            0,
            Block::new().attribute(Attribute::string("x").required().computed()),
        );
        assert!(bad.validate().is_err());
        let bad = Schema::new(
            0,
            Block::new().block(NestedBlock::set(
                "s",
                Block::new().attribute(Attribute::string("w").optional().write_only()),
            )),
        );
        assert_eq!(bad.validate().unwrap_err().path, "s.w");
    }

    #[test]
    fn force_new_paths() {
        let p: Vec<String> = sample()
            .force_new_paths()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(p, vec!["name", "container"]);
    }
}
