//! `provider::azuresessions::parse_session_pool_id(id)`: splits a session pool's ARM id into
//! `{subscription_id, resource_group_name, name}` (segment names match case-insensitively, as
//! ARM ids do).

use crate::azure::ids::SessionPoolId;
use crate::plugin::function::{Function, FunctionError, Parameter, Signature};
use crate::plugin::model::{Model, Tf};
use crate::plugin::{Type, Value};
use crate::resources::session_pool::model::SessionPoolIdentity;

/// The function.
#[derive(Debug, Default, Clone, Copy)]
pub struct ParseSessionPoolId;

/// Function name.
pub const NAME: &str = "parse_session_pool_id";

impl Function for ParseSessionPoolId {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> Signature {
        Signature::new(
            "Splits a session pool id into subscription, resource group and name.",
            super::parts_type(),
        )
        .description(
            "Parses the ARM id of a session pool \
             (`/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.App/sessionPools/{name}`) \
             into an object with `subscription_id`, `resource_group_name` and `name`. An id of \
             another shape is an error naming the expected shape.",
        )
        .parameter(Parameter::new(
            "id",
            Type::String,
            "The ARM id of a session pool.",
        ))
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let id = args
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| FunctionError::argument(0, "`id` must be a string."))?;
        let p = SessionPoolId::parse(id).map_err(|e| FunctionError::argument(0, e))?;
        Ok(SessionPoolIdentity {
            subscription_id: Tf::Known(p.subscription_id),
            resource_group_name: Tf::Known(p.resource_group),
            name: Tf::Known(p.name),
        }
        .encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_refuses() {
        let v = ParseSessionPoolId
            .call(&[Value::from(
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.app/sessionpools/p1",
            )])
            .unwrap();
        assert_eq!(v.get("subscription_id").as_str(), Some("s"));
        assert_eq!(v.get("resource_group_name").as_str(), Some("rg"));
        assert_eq!(v.get("name").as_str(), Some("p1"));
        let e = ParseSessionPoolId.call(&[Value::from("p1")]).unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert!(e.text.contains("sessionPools/{name}"), "{e}");
    }

    proptest! {
        #[test]
        fn round_trips_with_session_pool_id(
            s in "[a-z0-9-]{1,36}", rg in "[A-Za-z0-9._-]{1,20}", n in "[a-z][a-z0-9]{2,20}"
        ) {
            let id = super::super::session_pool_id::SessionPoolIdFn
                .call(&[Value::from(s.as_str()), Value::from(rg.as_str()), Value::from(n.as_str())])
                .unwrap();
            let parts = ParseSessionPoolId.call(&[id]).unwrap();
            prop_assert_eq!(parts.get("subscription_id").as_str(), Some(s.as_str()));
            prop_assert_eq!(parts.get("resource_group_name").as_str(), Some(rg.as_str()));
            prop_assert_eq!(parts.get("name").as_str(), Some(n.as_str()));
        }

        #[test]
        fn never_panics(id in "\\PC{0,80}") {
            let _ = ParseSessionPoolId.call(&[Value::from(id)]);
        }
    }
}
