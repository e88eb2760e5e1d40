//! Schema snapshots of every Terraform type (provider, resources, data sources, action), so a
//! change to an attribute name, flag or type shows up in review. Update with
//! `INSTA_UPDATE=always cargo test -p terraform-provider-azuresessions --test azure_schemas`.

use terraform_provider_azuresessions::plugin::prelude::*;
use terraform_provider_azuresessions::plugin::schema::AttributeType;
use terraform_provider_azuresessions::resources::provider::AzureSessionsProvider;

/// A compact, stable text form: one line per attribute/block with its flags and type.
fn render(block: &Block, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for a in &block.attributes {
        let mut flags = Vec::new();
        for (on, name) in [
            (a.required, "required"),
            (a.optional, "optional"),
            (a.computed, "computed"),
            (a.sensitive, "sensitive"),
            (a.write_only, "write_only"),
            (a.force_new, "force_new"),
        ] {
            if on {
                flags.push(name);
            }
        }
        let default = a
            .default
            .as_ref()
            .map(|d| format!(" default={d:?}"))
            .unwrap_or_default();
        match &a.ty {
            AttributeType::Plain(t) => {
                out.push_str(&format!(
                    "{pad}{}: {} [{}]{default}\n",
                    a.name,
                    t.to_json(),
                    flags.join(",")
                ));
            }
            AttributeType::Nested(n) => {
                out.push_str(&format!(
                    "{pad}{}: nested {:?} [{}]\n",
                    a.name,
                    n.nesting,
                    flags.join(",")
                ));
                let mut b = Block::new();
                for x in &n.attributes {
                    b = b.attribute(x.clone());
                }
                render(&b, indent + 2, out);
            }
        }
    }
    for b in &block.blocks {
        out.push_str(&format!(
            "{pad}{} {{}} {:?} min={} max={}{}\n",
            b.type_name,
            b.nesting,
            b.min_items,
            b.max_items,
            if b.force_new { " force_new" } else { "" }
        ));
        render(&b.block, indent + 2, out);
    }
}

fn text(schema: &Schema) -> String {
    let mut s = format!("version {}\n", schema.version);
    render(&schema.block, 0, &mut s);
    s
}

#[test]
fn schemas_are_valid_and_stable() {
    let p = AzureSessionsProvider::new();
    let mut all = String::new();
    all.push_str("== provider azuresessions\n");
    all.push_str(&text(&p.schema()));
    p.schema().validate().unwrap();
    for r in p.resources() {
        r.schema().validate().unwrap();
        all.push_str(&format!(
            "== resource {}\n{}",
            r.type_name(),
            text(&r.schema())
        ));
    }
    for d in p.data_sources() {
        d.schema().validate().unwrap();
        all.push_str(&format!("== data {}\n{}", d.type_name(), text(&d.schema())));
    }
    for a in p.actions() {
        a.schema().validate().unwrap();
        all.push_str(&format!(
            "== action {}\n{}",
            a.type_name(),
            text(&a.schema())
        ));
    }
    insta::assert_snapshot!("schemas", all);
}
