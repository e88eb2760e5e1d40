//! Schema conversion snapshot: the wire schema of the test resource (flags, nesting,
//! Markdown descriptions, JSON types) must not change unnoticed.

use crate::support::test_provider::thing_schema;

#[test]
fn test_resource_wire_schema() {
    let schema = thing_schema();
    assert!(schema.validate().is_ok());
    let wire = schema.to_proto();
    let block = wire.block.as_ref().unwrap();
    let attrs: Vec<String> = block
        .attributes
        .iter()
        .map(|a| {
            format!(
                "{} type={} req={} opt={} comp={} sens={} wo={} kind={} desc={:?}",
                a.name,
                String::from_utf8_lossy(&a.r#type),
                a.required,
                a.optional,
                a.computed,
                a.sensitive,
                a.write_only,
                a.description_kind,
                a.description
            )
        })
        .collect();
    let blocks: Vec<String> = block
        .block_types
        .iter()
        .map(|b| {
            format!(
                "{} nesting={} min={} max={}",
                b.type_name, b.nesting, b.min_items, b.max_items
            )
        })
        .collect();
    insta::assert_debug_snapshot!((wire.version, &block.description, attrs, blocks));
    insta::assert_snapshot!("implied_type", schema.implied_type().to_string());
}

#[test]
fn every_registered_schema_is_valid() {
    use terraform_provider_azuresessions::plugin::server::Registry;
    for provider in [
        terraform_provider_azuresessions::provider(),
        std::sync::Arc::new(crate::support::test_provider::TestProvider::default()) as _,
    ] {
        let registry = Registry::new(provider.as_ref());
        let problems = registry.problems(provider.type_name());
        assert!(
            problems.is_empty(),
            "invalid schemas:\n{}",
            problems.join("\n")
        );
    }
}
