//! A tiny provider (one resource, one data source, one action) written against the plugin
//! traits, for the `plugin_*` tests of the protocol layer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use terraform_provider_azuresessions::plugin::prelude::*;
use terraform_provider_azuresessions::plugin::ProviderData;
use tokio::sync::Notify;

/// The test provider; `started` is notified when a `slow` create begins.
#[derive(Default)]
pub struct TestProvider {
    pub started: Arc<Notify>,
}

#[async_trait]
impl Provider for TestProvider {
    fn type_name(&self) -> &str {
        "azuresessions"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new().attribute(
                Attribute::string("endpoint")
                    .optional()
                    .description("Where."),
            ),
        )
    }
    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        if config.get("endpoint").as_str() == Some("bad") {
            return Err(Diagnostic::error("Invalid endpoint", "use a URL")
                .at(AttributePath::attr("endpoint"))
                .into());
        }
        Ok(())
    }
    async fn configure(&self, _ctx: &Ctx, config: &Value) -> TfResult<ProviderData> {
        Ok(Arc::new(
            config
                .get("endpoint")
                .as_str()
                .unwrap_or("default")
                .to_string(),
        ))
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Thing {
            started: self.started.clone(),
        })]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Echo)]
    }
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        vec![Arc::new(Notify2)]
    }
}

pub struct Thing {
    started: Arc<Notify>,
}

pub fn thing_schema() -> Schema {
    Schema::new(
        1,
        Block::new()
            .description("A test thing.")
            .attribute(
                Attribute::string("name")
                    .required()
                    .force_new()
                    .description("Name."),
            )
            .attribute(Attribute::number("size").optional())
            .attribute(Attribute::string("id").computed())
            .attribute(
                Attribute::string("secret")
                    .optional()
                    .sensitive()
                    .write_only(),
            )
            .attribute(Attribute::map("tags", Type::String).optional())
            .block(NestedBlock::list(
                "rule",
                Block::new().attribute(Attribute::number("port").required()),
            )),
    )
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &str {
        "azuresessions_test_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn validate(&self, _ctx: &Ctx, config: &Value) -> TfResult<()> {
        if let Some(n) = config.get("size").as_i64() {
            if n < 0 {
                return Err(Diagnostic::error("Invalid size", "`size` must be >= 0")
                    .at(AttributePath::attr("size"))
                    .into());
            }
        }
        Ok(())
    }
    async fn create(&self, ctx: &Ctx, req: CreateRequest) -> TfResult<Applied> {
        let endpoint = ctx.data::<String>()?;
        let mut state = req.planned_state;
        let name = state.require_str("name")?.to_string();
        if name == "slow" {
            self.started.notify_one();
            tokio::select! {
                () = ctx.stop_token().cancelled() => {
                    return Err(Diagnostic::error("Cancelled", "StopProvider received").into());
                }
                () = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
        state.set_attr("id", Value::from(format!("things/{name}")));
        if name == "half" {
            // Exists now, but the create failed: Terraform must keep it (tainted).
            return Ok(Applied::failed(
                state,
                Diagnostic::error("Half created", "the thing exists but did not finish").into(),
            ));
        }
        ctx.warn(Diagnostic::warning("Created", format!("via {endpoint}")));
        Ok(Applied {
            new_state: state,
            private: b"p1".to_vec(),
            ..Default::default()
        })
    }
    async fn read(&self, _ctx: &Ctx, req: ReadRequest) -> TfResult<ReadResult> {
        if req.current_state.get("name").as_str() == Some("gone") {
            return Ok(ReadResult::gone());
        }
        Ok(ReadResult {
            new_state: req.current_state,
            private: req.private,
        })
    }
    async fn update(&self, _ctx: &Ctx, req: UpdateRequest) -> TfResult<Applied> {
        Ok(Applied::new(req.planned_state))
    }
    async fn delete(&self, _ctx: &Ctx, _req: DeleteRequest) -> TfResult<()> {
        Ok(())
    }
    async fn import(&self, _ctx: &Ctx, id: &str) -> TfResult<Imported> {
        let name = id.strip_prefix("things/").ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Invalid import id",
                format!("expected things/<name>, got {id:?}"),
            ))
        })?;
        Ok(Imported {
            state: Value::object([("id", Value::from(id)), ("name", Value::from(name))]),
            private: Vec::new(),
        })
    }
}

pub struct Echo;

#[async_trait]
impl DataSource for Echo {
    fn type_name(&self) -> &str {
        "azuresessions_test_echo"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new()
                .attribute(Attribute::string("input").required())
                .attribute(Attribute::string("output").computed()),
        )
    }
    async fn read(&self, _ctx: &Ctx, mut config: Value) -> TfResult<Value> {
        let up = config.require_str("input")?.to_uppercase();
        config.set_attr("output", Value::from(up));
        Ok(config)
    }
}

pub struct Notify2;

#[async_trait]
impl Action for Notify2 {
    fn type_name(&self) -> &str {
        "azuresessions_test_notify"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new().attribute(Attribute::string("message").required()),
        )
    }
    async fn invoke(&self, _ctx: &Ctx, config: Value, progress: &Progress) -> TfResult<()> {
        let msg = config.require_str("message")?.to_string();
        progress.send(format!("sending {msg}")).await;
        progress.send("sent").await;
        if msg == "fail" {
            return Err(Diagnostic::error("Notify failed", "asked to fail").into());
        }
        Ok(())
    }
}
