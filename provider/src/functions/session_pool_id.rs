//! `provider::azuresessions::session_pool_id(subscription_id, resource_group_name, name)`:
//! builds a session pool's ARM id (the inverse of `parse_session_pool_id`).

use crate::azure::ids::SessionPoolId;
use crate::plugin::function::{Function, FunctionError, Parameter, Signature};
use crate::plugin::{Type, Value};

/// The function.
#[derive(Debug, Default, Clone, Copy)]
pub struct SessionPoolIdFn;

/// Function name.
pub const NAME: &str = "session_pool_id";

impl Function for SessionPoolIdFn {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "Builds the ARM id of a session pool from its parts.",
            Type::String,
        )
        .description(
            "Returns `/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.App/sessionPools/{name}`. \
             Each part must be non-empty and contain no `/`.",
        )
        .parameter(Parameter::new(
            "subscription_id",
            Type::String,
            "Subscription id.",
        ))
        .parameter(Parameter::new(
            "resource_group_name",
            Type::String,
            "Resource group name.",
        ))
        .parameter(Parameter::new("name", Type::String, "Pool name."))
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let names = ["subscription_id", "resource_group_name", "name"];
        let mut parts = Vec::with_capacity(3);
        for (i, n) in names.iter().enumerate() {
            let v = args.get(i).and_then(Value::as_str).ok_or_else(|| {
                FunctionError::argument(i as i64, format!("`{n}` must be a string."))
            })?;
            if v.is_empty() || v.contains('/') {
                return Err(FunctionError::argument(
                    i as i64,
                    format!("`{n}` must be non-empty and contain no \"/\", got {v:?}."),
                ));
            }
            parts.push(v);
        }
        Ok(Value::from(
            SessionPoolId::new(parts[0], parts[1], parts[2]).path(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_refuses() {
        let v = SessionPoolIdFn
            .call(&[Value::from("s"), Value::from("rg"), Value::from("p1")])
            .unwrap();
        assert_eq!(
            v.as_str(),
            Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/sessionPools/p1")
        );
        let e = SessionPoolIdFn
            .call(&[Value::from("s"), Value::from("a/b"), Value::from("p1")])
            .unwrap_err();
        assert_eq!(e.argument, Some(1));
        let e = SessionPoolIdFn
            .call(&[Value::from("s"), Value::from("rg"), Value::from("")])
            .unwrap_err();
        assert_eq!(e.argument, Some(2));
    }
}
