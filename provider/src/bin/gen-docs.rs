//! `gen-docs`: writes the provider documentation in the Terraform Registry layout from the
//! schema declarations and the files under `examples/`:
//!
//! - `docs/index.md` (provider, `examples/provider/provider.tf`);
//! - `docs/resources/<name>.md` (`examples/resources/<type>/resource.tf` + `import.sh`);
//! - `docs/data-sources/<name>.md` (`examples/data-sources/<type>/data-source.tf`);
//! - `docs/actions/<name>.md` (`examples/actions/<type>/action.tf`);
//! - `docs/functions/<name>.md` (`examples/functions/<name>/function.tf`).
//!
//! Resource pages also get the import forms (`import.sh`, `import-by-string-id.tf`,
//! `import-by-identity.tf`), a Timeouts section and, for the session pool, the azurerm
//! compatibility table; the provider page gets the Terraform version each feature needs and
//! the setup steps.
//!
//! Usage: `gen-docs [DOCS_DIR]` from the workspace root (`make docs`). The output is
//! deterministic, so CI can fail when the committed docs differ (`make docs-check`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use terraform_provider_azuresessions::plugin::prelude::*;
use terraform_provider_azuresessions::plugin::schema::AttributeType;
use terraform_provider_azuresessions::resources::provider::{AzureSessionsProvider, PROVIDER_NAME};

/// Which kind of page.
#[derive(Clone, Copy)]
enum Kind {
    Resource,
    DataSource,
    Action,
}

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::Resource => "Resource",
            Kind::DataSource => "Data Source",
            Kind::Action => "Action",
        }
    }
    fn dir(self) -> &'static str {
        match self {
            Kind::Resource => "resources",
            Kind::DataSource => "data-sources",
            Kind::Action => "actions",
        }
    }
    fn example(self) -> &'static str {
        match self {
            Kind::Resource => "resource.tf",
            Kind::DataSource => "data-source.tf",
            Kind::Action => "action.tf",
        }
    }
}

fn main() -> ExitCode {
    let docs = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs".into()));
    let root = docs.parent().map(Path::to_path_buf).unwrap_or_default();
    let examples = root.join("examples");
    match generate(&docs, &examples) {
        Ok(n) => {
            eprintln!("gen-docs: wrote {n} pages under {}", docs.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

fn generate(docs: &Path, examples: &Path) -> Result<usize, String> {
    let p = AzureSessionsProvider::new();
    let mut pages: Vec<(PathBuf, String)> = Vec::new();
    pages.push((docs.join("index.md"), provider_page(&p.schema(), examples)));
    for r in p.resources() {
        pages.push(page(
            Kind::Resource,
            r.type_name(),
            &r.schema(),
            docs,
            examples,
        ));
    }
    for d in p.data_sources() {
        pages.push(page(
            Kind::DataSource,
            d.type_name(),
            &d.schema(),
            docs,
            examples,
        ));
    }
    for a in p.actions() {
        pages.push(page(
            Kind::Action,
            a.type_name(),
            &a.schema(),
            docs,
            examples,
        ));
    }
    for f in p.functions() {
        pages.push(function_page(f.name(), &f.signature(), docs, examples));
    }
    for (path, text) in &pages {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(pages.len())
}

fn read_example(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end().to_string())
}

fn front_matter(title: &str, description: &str) -> String {
    let mut s = String::from("---\n");
    let _ = writeln!(s, "page_title: \"{title}\"");
    s.push_str("subcategory: \"\"\n");
    s.push_str("description: |-\n");
    for line in first_sentence(description).lines() {
        let _ = writeln!(s, "  {line}");
    }
    s.push_str("---\n\n");
    s
}

fn first_sentence(d: &str) -> String {
    match d.find(". ") {
        Some(i) => d[..=i].to_string(),
        None => d.to_string(),
    }
}

fn provider_page(schema: &Schema, examples: &Path) -> String {
    let mut s = front_matter(
        &format!("{PROVIDER_NAME} Provider"),
        &schema.block.description,
    );
    let _ = writeln!(
        s,
        "# {PROVIDER_NAME} Provider\n\n{}\n",
        schema.block.description
    );
    if let Some(ex) = read_example(&examples.join("provider/provider.tf")) {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    s.push_str(AUTH_SECTION);
    s.push_str(REQUIREMENTS_SECTION);
    s.push_str(SETUP_SECTION);
    s.push_str("<!-- schema generated by gen-docs -->\n## Schema\n\n");
    render_block(&mut s, &schema.block, "", true);
    s.trim_end().to_string() + "\n"
}

/// How the provider authenticates, in azurerm's terms.
const AUTH_SECTION: &str = r#"## Authentication

The provider reads azurerm's arguments and `ARM_*` variables and picks the first flow that is
configured, in this order:

| Flow | Configure with |
|---|---|
| Client certificate | `tenant_id`, `client_id`, `client_certificate_path` (a PKCS#12 `.pfx` with an RSA key) or `client_certificate` (the same, base64), `client_certificate_password` (`ARM_CLIENT_CERTIFICATE_PATH`, `ARM_CLIENT_CERTIFICATE`, `ARM_CLIENT_CERTIFICATE_PASSWORD`) |
| Client secret | `tenant_id`, `client_id`, `client_secret` (`ARM_TENANT_ID`, `ARM_CLIENT_ID`, `ARM_CLIENT_SECRET`) |
| OIDC token (e.g. from a CI system) | `use_oidc = true` with `oidc_token` or `oidc_token_file_path` (`ARM_USE_OIDC`, `ARM_OIDC_TOKEN`, `ARM_OIDC_TOKEN_FILE_PATH`), plus tenant and client |
| AKS workload identity | `use_aks_workload_identity = true` (`ARM_USE_AKS_WORKLOAD_IDENTITY`); the token file, client and tenant come from `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` |
| GitHub Actions OIDC | `use_oidc = true` with tenant and client; the request URL and token come from `ACTIONS_ID_TOKEN_REQUEST_URL` / `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (or `oidc_request_url` / `oidc_request_token`, `ARM_OIDC_REQUEST_*`); the job needs `permissions: id-token: write` |
| Azure Pipelines OIDC | `use_oidc = true`, `ado_pipeline_service_connection_id` (`ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`) and `SYSTEM_ACCESSTOKEN` (or `oidc_request_token`), with tenant and client |
| Managed identity | `use_msi = true` (`ARM_USE_MSI`): App Service, Container Apps and Functions (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), else the VM's (IMDS); `client_id` picks a user-assigned identity |
| Azure Developer CLI | `use_azd = true` (`ARM_USE_AZD`) after `azd auth login` |
| Azure CLI | the default (`use_cli`, `ARM_USE_CLI`) after `az login` |

All flows use the maintained `azure_identity` crate, except what it cannot serve: an
`http://` authority host (the emulator started with `--http`; `azure_identity` requires HTTPS),
`ARM_MSI_ENDPOINT` (an IMDS-style endpoint elsewhere than IMDS) and the request of the GitHub
Actions token (the exchange of that token is `azure_identity`'s). For those the provider sends
the requests itself. A client certificate is read and its assertion signed by the provider (the
certificate credential of `azure_identity` needs OpenSSL, which the provider does not link); the
assertion is exchanged by `azure_identity`. A credential that does not work is reported once, when the
provider is configured.

"#;

/// Which Terraform version each feature needs.
const REQUIREMENTS_SECTION: &str = "## Terraform versions\n\n\
The provider speaks plugin protocol 6 and is tested with Terraform 1.11. Some features need a \
newer Terraform:\n\n\
| Feature | Terraform |\n\
|---|---|\n\
| Resources, data sources, `terraform import` | 1.11 or later |\n\
| `import {}` blocks, `terraform plan -generate-config-out` | 1.5 or later |\n\
| Provider functions (`provider::azuresessions::...`) | 1.8 or later |\n\
| Write-only arguments: `secret.value_wo`, `timeouts` | 1.11 or later |\n\
| Import by resource identity (`import { identity = { ... } }`) | 1.12 or later |\n\
| The `azuresessions_stop_session` action | 1.14 or later |\n\n";

/// How to use a locally built provider, with and without modules.
const SETUP_SECTION: &str = r#"## Using a locally built provider

Until the provider is published, Terraform finds a local build through `dev_overrides` in a
CLI configuration file. Build the provider (`cargo build -p terraform-provider-azuresessions`
writes `target/debug/terraform-provider-azuresessions`), then write a CLI configuration file
that names the directory holding the binary:

```terraform
provider_installation {
  dev_overrides {
    "registry.terraform.io/azuresessions/azuresessions" = "/path/to/repo/target/debug"
  }
  direct {}
}
```

and point Terraform at it with `export TF_CLI_CONFIG_FILE=/path/to/that/file`. For the local
emulator, `eval "$(sessions-emulator env)"` exports the `ARM_*` settings. Then, in the
directory of your configuration:

- **Without modules**: run `terraform plan` / `terraform apply` directly. Do not run
  `terraform init`: with `dev_overrides` (Terraform before 1.15) it still looks the overridden
  provider up in the registry and fails.
- **With modules** (local ones too): run `terraform get` once (and again after changing a
  module source). It installs the modules and leaves providers alone; then run
  `terraform plan` / `terraform apply`. `examples/modules` is such a configuration: three
  pools by `for_each` in a local module.
- A configuration that also uses providers from the registry needs `terraform init`: install
  this provider from a `filesystem_mirror` instead of `dev_overrides` then.

"#;

fn page(
    kind: Kind,
    type_name: &str,
    schema: &Schema,
    docs: &Path,
    examples: &Path,
) -> (PathBuf, String) {
    let short = type_name
        .strip_prefix(&format!("{PROVIDER_NAME}_"))
        .unwrap_or(type_name);
    let mut s = front_matter(
        &format!("{type_name} {} - {PROVIDER_NAME}", kind.title()),
        &schema.block.description,
    );
    let _ = writeln!(
        s,
        "# {type_name} ({})\n\n{}\n",
        kind.title(),
        schema.block.description
    );
    let ex_dir = examples.join(kind.dir()).join(type_name);
    if let Some(ex) = read_example(&ex_dir.join(kind.example())) {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    if matches!(kind, Kind::Action) {
        s.push_str("Actions need Terraform 1.14 or later: `terraform apply -invoke=action.");
        let _ = writeln!(
            s,
            "{type_name}.<label>` or a resource's `lifecycle {{ action_trigger {{ ... }} }}`.\n"
        );
    }
    s.push_str("<!-- schema generated by gen-docs -->\n## Schema\n\n");
    render_block(&mut s, &schema.block, "", true);
    if matches!(kind, Kind::Resource) {
        if schema.block.nested("timeouts").is_some() {
            s.push_str(TIMEOUTS_SECTION);
        }
        import_section(&mut s, &ex_dir);
        if type_name == terraform_provider_azuresessions::resources::session_pool::TYPE_NAME {
            s.push_str(
                &terraform_provider_azuresessions::resources::session_pool::azurerm::markdown(),
            );
        }
    }
    (
        docs.join(kind.dir()).join(format!("{short}.md")),
        s.trim_end().to_string() + "\n",
    )
}

/// The Timeouts section of a resource page.
const TIMEOUTS_SECTION: &str = "## Timeouts\n\n\
The `timeouts` block sets how long the provider waits for each operation \
(durations like `30m`, `1h30m`, `90s`):\n\n\
- `create` - (Defaults to 30 minutes) creating the resource.\n\
- `read` - (Defaults to 5 minutes) refreshing it.\n\
- `update` - (Defaults to 30 minutes) updating it in place.\n\
- `delete` - (Defaults to 30 minutes) deleting it.\n\n\
The timeouts are write-only (Terraform 1.11+): they are never stored in state, so adding, \
changing or removing them plans no change and sends nothing to the service (also right after \
an import). Create and update use the configured values; read and delete use the values of \
the last create or update. A timeouts-only change therefore takes effect at the next create \
or update.\n\n";

/// The Import section: `terraform import`, an `import {}` block, and import by identity.
fn import_section(s: &mut String, ex_dir: &Path) {
    let cmd = read_example(&ex_dir.join("import.sh"));
    let block = read_example(&ex_dir.join("import-by-string-id.tf"));
    let identity = read_example(&ex_dir.join("import-by-identity.tf"));
    if cmd.is_none() && block.is_none() && identity.is_none() {
        return;
    }
    s.push_str("## Import\n\n");
    if let Some(block) = block {
        let _ = writeln!(
            s,
            "In Terraform 1.5 and later, use an `import` block (`terraform plan \
             -generate-config-out=generated.tf` writes the configuration for it):\n\n\
             ```terraform\n{block}\n```\n"
        );
    }
    if let Some(identity) = identity {
        let _ = writeln!(
            s,
            "In Terraform 1.12 and later, the `import` block can name the resource by its \
             identity instead of its id:\n\n```terraform\n{identity}\n```\n"
        );
    }
    if let Some(cmd) = cmd {
        let _ = writeln!(
            s,
            "The `terraform import` command takes the same id:\n\n```shell\n{cmd}\n```\n"
        );
    }
}

/// A value as HCL would write it, for "Defaults to".
fn hcl_literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// `docs/functions/<name>.md`.
fn function_page(name: &str, sig: &Signature, docs: &Path, examples: &Path) -> (PathBuf, String) {
    let mut s = front_matter(&format!("{name} function - {PROVIDER_NAME}"), &sig.summary);
    let _ = writeln!(s, "# function: {name}\n\n{}\n", sig.summary);
    if !sig.description.is_empty() {
        let _ = writeln!(s, "{}\n", sig.description);
    }
    s.push_str("Provider functions need Terraform 1.8 or later.\n\n");
    if let Some(ex) = read_example(&examples.join("functions").join(name).join("function.tf")) {
        let _ = writeln!(s, "## Example Usage\n\n```terraform\n{ex}\n```\n");
    }
    let params: Vec<String> = sig
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, hcl_type(&p.ty)))
        .collect();
    let _ = writeln!(
        s,
        "## Signature\n\n```text\n{name}({}) {}\n```\n",
        params.join(", "),
        hcl_type(&sig.returns)
    );
    s.push_str("## Arguments\n\n");
    for (i, p) in sig.parameters.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. `{}` ({}) {}",
            i + 1,
            p.name,
            plain_type(&p.ty),
            with_period(&p.description)
        );
    }
    (
        docs.join("functions").join(format!("{name}.md")),
        s.trim_end().to_string() + "\n",
    )
}

/// A type in Terraform's type-constraint syntax.
fn hcl_type(t: &Type) -> String {
    match t {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::Dynamic => "any".into(),
        Type::List(e) => format!("list({})", hcl_type(e)),
        Type::Set(e) => format!("set({})", hcl_type(e)),
        Type::Map(e) => format!("map({})", hcl_type(e)),
        Type::Object(m) => format!(
            "object({{{}}})",
            m.iter()
                .map(|(k, v)| format!("{k} = {}", hcl_type(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Tuple(v) => format!(
            "tuple([{}])",
            v.iter().map(hcl_type).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn type_label(a: &Attribute) -> String {
    let mut t = match &a.ty {
        AttributeType::Plain(t) => plain_type(t),
        AttributeType::Nested(n) => match n.nesting {
            ObjectNesting::Single => "Attributes".to_string(),
            ObjectNesting::List => "Attributes List".to_string(),
            ObjectNesting::Set => "Attributes Set".to_string(),
            ObjectNesting::Map => "Attributes Map".to_string(),
        },
    };
    if a.sensitive {
        t.push_str(", Sensitive");
    }
    if a.write_only {
        t.push_str(", [Write-only](https://developer.hashicorp.com/terraform/language/resources/ephemeral#write-only-arguments)");
    }
    if a.deprecated {
        t.push_str(", Deprecated");
    }
    t
}

fn plain_type(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", plain_type(e)),
        Type::Set(e) => format!("Set of {}", plain_type(e)),
        Type::Map(e) => format!("Map of {}", plain_type(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

fn block_label(b: &NestedBlock) -> String {
    let mode = match b.nesting {
        BlockNesting::Single | BlockNesting::Group => "Block".to_string(),
        BlockNesting::List => "Block List".to_string(),
        BlockNesting::Set => "Block Set".to_string(),
        BlockNesting::Map => "Block Map".to_string(),
    };
    let mut parts = vec![mode];
    if b.min_items > 0 {
        parts.push(format!("Min: {}", b.min_items));
    }
    if b.max_items > 0 {
        parts.push(format!("Max: {}", b.max_items));
    }
    parts.join(", ")
}

fn anchor(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}--{name}")
    }
}

fn with_period(d: &str) -> String {
    let d = d.trim();
    if d.is_empty() || d.ends_with('.') || d.ends_with(')') {
        d.to_string()
    } else {
        format!("{d}.")
    }
}

/// Renders one block's Required/Optional/Read-Only lists, then its nested schemas.
fn render_block(s: &mut String, block: &Block, prefix: &str, top: bool) {
    #[derive(PartialEq)]
    enum Group {
        Required,
        Optional,
        ReadOnly,
    }
    struct Item {
        group: Group,
        line: String,
    }
    let mut items: Vec<Item> = Vec::new();
    let mut nested: Vec<(String, String, NestedContent)> = Vec::new();
    enum NestedContent {
        Block(Block),
        Attrs(Vec<Attribute>),
    }
    for a in &block.attributes {
        let group = if a.required {
            Group::Required
        } else if a.optional {
            Group::Optional
        } else {
            Group::ReadOnly
        };
        let mut line = format!(
            "- `{}` ({}) {}",
            a.name,
            type_label(a),
            with_period(&a.description)
        );
        if let Some(d) = &a.default {
            let _ = write!(line, " Defaults to `{}`.", hcl_literal(d));
        }
        if a.force_new {
            line.push_str(" Changing this forces a new resource.");
        }
        if let AttributeType::Nested(n) = &a.ty {
            let id = format!("nestedatt--{}", anchor(prefix, &a.name));
            let _ = write!(line, " (see [below for nested schema](#{id}))");
            nested.push((
                id,
                a.name.clone(),
                NestedContent::Attrs(n.attributes.clone()),
            ));
        }
        items.push(Item {
            group,
            line: line.trim_end().to_string(),
        });
    }
    for b in &block.blocks {
        let id = format!("nestedblock--{}", anchor(prefix, &b.type_name));
        let group = if b.min_items > 0 {
            Group::Required
        } else {
            Group::Optional
        };
        let line = format!(
            "- `{}` ({}) {} (see [below for nested schema](#{id}))",
            b.type_name,
            block_label(b),
            with_period(&b.block.description)
        );
        items.push(Item { group, line });
        nested.push((
            id,
            b.type_name.clone(),
            NestedContent::Block(b.block.clone()),
        ));
    }
    for (group, title) in [
        (Group::Required, "Required"),
        (Group::Optional, "Optional"),
        (Group::ReadOnly, "Read-Only"),
    ] {
        let lines: Vec<&str> = items
            .iter()
            .filter(|i| i.group == group)
            .map(|i| i.line.as_str())
            .collect();
        if lines.is_empty() {
            continue;
        }
        if top {
            let _ = writeln!(s, "### {title}\n");
        } else {
            let _ = writeln!(s, "{title}:\n");
        }
        for l in lines {
            let _ = writeln!(s, "{l}");
        }
        s.push('\n');
    }
    for (id, name, content) in nested {
        let path = id
            .split_once("--")
            .map(|x| x.1)
            .unwrap_or(&name)
            .replace("--", ".");
        let _ = writeln!(s, "<a id=\"{id}\"></a>\n### Nested Schema for `{path}`\n");
        let child_prefix = id.split_once("--").map(|x| x.1.to_string()).unwrap_or(name);
        match content {
            NestedContent::Block(b) => render_block(s, &b, &child_prefix, false),
            NestedContent::Attrs(attrs) => {
                let mut b = Block::new();
                for a in attrs {
                    b = b.attribute(a);
                }
                render_block(s, &b, &child_prefix, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_page_with_front_matter() {
        let dir = tempfile::tempdir().unwrap();
        let docs = dir.path().join("docs");
        let n = generate(&docs, &dir.path().join("examples")).unwrap();
        assert_eq!(n, 8);
        let pool = std::fs::read_to_string(docs.join("resources/session_pool.md")).unwrap();
        assert!(pool.starts_with(
            "---\npage_title: \"azuresessions_session_pool Resource - azuresessions\""
        ));
        assert!(pool.contains("### Required"));
        assert!(pool.contains("### Nested Schema for `custom_container_template.container.probe`"));
        assert!(pool.contains("Write-only"));
        let ds = std::fs::read_to_string(docs.join("data-sources/sessions.md")).unwrap();
        assert!(ds.contains("(Attributes List)"));
        assert!(docs.join("actions/stop_session.md").exists());
        assert!(pool.contains("## Timeouts"));
        assert!(pool.contains("## Compatibility with azurerm"));
        assert!(pool.contains("Defaults to `\"Timed\"`."));
        let f = std::fs::read_to_string(docs.join("functions/session_pool_id.md")).unwrap();
        assert!(f.contains(
            "session_pool_id(subscription_id string, resource_group_name string, name string) string"
        ));
        let index = std::fs::read_to_string(docs.join("index.md")).unwrap();
        assert!(index.contains("terraform get"));
        assert!(index.contains("| Provider functions"));
        assert!(docs.join("index.md").exists());
    }
}
