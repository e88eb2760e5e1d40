//! Provider functions (tfplugin6 `GetFunctions` / `CallFunction`, Terraform 1.8+), called in
//! configuration as `provider::<provider>::<name>(args...)`.
//!
//! A [`Function`] declares its signature once ([`Signature`]: typed parameters and return
//! type, Markdown summary and description); the server decodes each argument against its
//! parameter type, calls [`Function::call`] and encodes the result against the return type.
//! Errors are [`FunctionError`]s, optionally naming the argument (0-based) they are about.
//!
//! ```
//! use terraform_provider_azuresessions::plugin::function::*;
//! use terraform_provider_azuresessions::plugin::{Type, Value};
//!
//! struct Upper;
//! impl Function for Upper {
//!     fn name(&self) -> &str { "upper" }
//!     fn signature(&self) -> Signature {
//!         Signature::new("Upper-cases a string.", Type::String)
//!             .parameter(Parameter::new("s", Type::String, "The string."))
//!     }
//!     fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
//!         let s = args[0].as_str().ok_or_else(|| FunctionError::argument(0, "not a string"))?;
//!         Ok(Value::from(s.to_uppercase()))
//!     }
//! }
//! assert_eq!(Upper.call(&[Value::from("a")]).unwrap(), Value::from("A"));
//! ```

use super::proto::tfplugin6 as pb;
use super::types::Type;
use super::value::Value;

/// One parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Name (documentation only; arguments are positional).
    pub name: String,
    /// Type the argument is converted to.
    pub ty: Type,
    /// Markdown description.
    pub description: String,
    /// Whether a null argument is passed to the function (else Terraform refuses it).
    pub allow_null: bool,
}

impl Parameter {
    /// A parameter that refuses null.
    pub fn new(name: impl Into<String>, ty: Type, description: impl Into<String>) -> Self {
        Parameter {
            name: name.into(),
            ty,
            description: description.into(),
            allow_null: false,
        }
    }
}

/// A function's signature and documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// Parameters, in order.
    pub parameters: Vec<Parameter>,
    /// Return type.
    pub returns: Type,
    /// One-line summary.
    pub summary: String,
    /// Markdown description.
    pub description: String,
}

impl Signature {
    /// A signature with no parameters yet.
    pub fn new(summary: impl Into<String>, returns: Type) -> Self {
        Signature {
            parameters: Vec::new(),
            returns,
            summary: summary.into(),
            description: String::new(),
        }
    }

    /// Adds a parameter.
    pub fn parameter(mut self, p: Parameter) -> Self {
        self.parameters.push(p);
        self
    }

    /// Sets the Markdown description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::Function {
        let kind = pb::StringKind::Markdown as i32;
        pb::Function {
            parameters: self
                .parameters
                .iter()
                .map(|p| pb::function::Parameter {
                    name: p.name.clone(),
                    r#type: p.ty.to_json_bytes(),
                    allow_null_value: p.allow_null,
                    allow_unknown_values: false,
                    description: p.description.clone(),
                    description_kind: kind,
                })
                .collect(),
            variadic_parameter: None,
            r#return: Some(pb::function::Return {
                r#type: self.returns.to_json_bytes(),
            }),
            summary: self.summary.clone(),
            description: self.description.clone(),
            description_kind: kind,
            deprecation_message: String::new(),
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct FunctionError {
    /// What went wrong and what to do.
    pub text: String,
    /// The argument (0-based) the error is about.
    pub argument: Option<i64>,
}

impl FunctionError {
    /// An error about the call as a whole.
    pub fn new(text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }

    /// An error about argument `index` (0-based).
    pub fn argument(index: i64, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> pb::FunctionError {
        pb::FunctionError {
            text: self.text.clone(),
            function_argument: self.argument,
        }
    }
}

/// A provider function.
pub trait Function: Send + Sync {
    /// The name without the provider prefix, e.g. `parse_session_pool_id`.
    fn name(&self) -> &str;
    /// Signature and documentation.
    fn signature(&self) -> Signature;
    /// Calls the function with known arguments (already converted to the parameter types).
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}
