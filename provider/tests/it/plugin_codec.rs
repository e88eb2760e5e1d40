//! Codec properties: any value of any type survives msgpack (and JSON where representable),
//! and Terraform-produced bytes decode as expected.

use std::collections::BTreeMap;

use proptest::prelude::*;
use terraform_provider_azuresessions::plugin::codec::{
    decode_msgpack, encode_msgpack, from_json_value, to_json_value,
};
use terraform_provider_azuresessions::plugin::{Number, Refinements, Type, Value};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::String),
        Just(Type::Number),
        Just(Type::Bool),
        Just(Type::Dynamic),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite non-integral", |f| f.is_finite() && f.fract() != 0.0)
            .prop_map(Number::Float),
        "[1-9][0-9]{19,30}\\.[0-9]{1,5}[1-9]".prop_map(Number::Big),
    ]
}

fn arb_value_of(ty: Type, depth: u32) -> BoxedStrategy<Value> {
    let nullish = prop_oneof![Just(Value::Null), Just(Value::unknown())];
    let known: BoxedStrategy<Value> = match ty {
        Type::String => ".{0,8}".prop_map(Value::String).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        // A dynamic value: any concrete primitive (its type travels with it).
        Type::Dynamic => prop_oneof![
            ".{0,8}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
        ]
        .boxed(),
        Type::List(e) if depth > 0 => prop::collection::vec(arb_value_of(*e, depth - 1), 0..3)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) if depth > 0 => prop::collection::vec(arb_value_of(*e, depth - 1), 0..3)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) if depth > 0 => {
            prop::collection::btree_map("[a-z]{0,4}", arb_value_of(*e, depth - 1), 0..3)
                .prop_map(Value::Map)
                .boxed()
        }
        Type::Object(attrs) if depth > 0 => {
            let fields: Vec<BoxedStrategy<(String, Value)>> = attrs
                .into_iter()
                .map(|(k, t)| {
                    arb_value_of(t, depth - 1)
                        .prop_map(move |v| (k.clone(), v))
                        .boxed()
                })
                .collect();
            fields
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<BTreeMap<_, _>>()))
                .boxed()
        }
        Type::Tuple(types) if depth > 0 => {
            let items: Vec<BoxedStrategy<Value>> = types
                .into_iter()
                .map(|t| arb_value_of(t, depth - 1))
                .collect();
            items.prop_map(Value::Tuple).boxed()
        }
        _ => Just(Value::Null).boxed(),
    };
    prop_oneof![1 => nullish, 4 => known].boxed()
}

fn arb_typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value_of(t, 4)))
}

proptest! {
    #[test]
    fn msgpack_round_trips((ty, v) in arb_typed_value()) {
        let bytes = encode_msgpack(&v, &ty).unwrap();
        prop_assert_eq!(decode_msgpack(&bytes, &ty).unwrap(), v);
    }

    #[test]
    fn json_round_trips_known_values((ty, v) in arb_typed_value()) {
        prop_assume!(v.is_wholly_known());
        // JSON numbers are f64/i64 here: skip exact big decimals, which JSON keeps as strings.
        let json = to_json_value(&v, &ty).unwrap();
        let back = from_json_value(&json, &ty).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), ty in arb_type()) {
        let _ = decode_msgpack(&bytes, &ty);
    }

    #[test]
    fn refinements_round_trip(prefix in proptest::option::of("[a-z]{0,5}"), lo in proptest::option::of(any::<i64>()), n in proptest::option::of(0i64..10)) {
        let r = Refinements {
            not_null: true,
            string_prefix: prefix,
            number_lower: lo.map(|l| (Number::Int(l), true)),
            length_min: n,
            ..Default::default()
        };
        let v = Value::Unknown(r);
        prop_assert_eq!(decode_msgpack(&encode_msgpack(&v, &Type::String).unwrap(), &Type::String).unwrap(), v);
    }
}

#[test]
fn decodes_terraform_produced_bytes() {
    // {"id": unknown, "name": "x", "n": 1.5, "tags": null} as Terraform's cty encodes it.
    let ty = Type::object([
        ("id", Type::String),
        ("name", Type::String),
        ("n", Type::Number),
        ("tags", Type::map(Type::String)),
    ]);
    let bytes = [
        0x84, 0xa2, b'i', b'd', 0xd4, 0x00, 0x00, 0xa4, b'n', b'a', b'm', b'e', 0xa1, b'x', 0xa1,
        b'n', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa4, b't', b'a', b'g', b's', 0xc0,
    ];
    let v = decode_msgpack(&bytes, &ty).unwrap();
    assert!(v.get("id").is_unknown());
    assert_eq!(v.get("name").as_str(), Some("x"));
    assert_eq!(v.get("n").as_f64(), Some(1.5));
    assert!(v.get("tags").is_null());
    // A refined unknown (ext 12, not null + prefix "ab") from Terraform.
    let refined = [0xc7, 0x07, 0x0c, 0x82, 0x01, 0xc3, 0x02, 0xa2, b'a', b'b'];
    let v = decode_msgpack(&refined, &Type::String).unwrap();
    assert_eq!(
        v,
        Value::Unknown(Refinements {
            not_null: true,
            string_prefix: Some("ab".into()),
            ..Default::default()
        })
    );
    // A big number Terraform sends as a string stays exact.
    let big = [
        0xb5, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'1', b'2', b'3', b'4',
        b'5', b'6', b'7', b'8', b'9', b'0', b'1',
    ];
    assert_eq!(
        decode_msgpack(&big, &Type::Number).unwrap(),
        Value::Number(Number::Big("123456789012345678901".into()))
    );
}
