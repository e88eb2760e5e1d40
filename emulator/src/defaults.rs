//! Well-known names every fresh emulator is seeded with, so examples work with zero set-up.
//! They are printed in the ready line and documented in the README; keep them stable.

use sessions_runtime::id::ResourceId;

/// Entra tenant the token endpoint issues tokens for.
pub const TENANT_ID: &str = "00000000-0000-4000-8000-0000000000a1";
/// The seeded development client (service principal) allowed to get tokens.
pub const CLIENT_ID: &str = "00000000-0000-4000-8000-0000000000c1";
/// The seeded development client's secret. Not a secret: it is printed at start-up.
pub const CLIENT_SECRET: &str = "sessions-emulator-dev-secret";
/// Object id of the seeded client's service principal (`oid` claim).
pub const CLIENT_OBJECT_ID: &str = "00000000-0000-4000-8000-0000000000b1";
/// The seeded subscription.
pub const SUBSCRIPTION_ID: &str = "00000000-0000-4000-8000-000000000001";
/// The seeded resource group.
pub const RESOURCE_GROUP: &str = "sessions-dev";
/// Location of every seeded resource.
pub const LOCATION: &str = "eastus";
/// The seeded `Microsoft.App/managedEnvironments` name.
pub const ENVIRONMENT: &str = "sessions-env";
/// The seeded `Microsoft.OperationalInsights/workspaces` name.
pub const WORKSPACE: &str = "sessions-logs";
/// The seeded workspace's `customerId` (the id the Log Analytics query API takes).
pub const WORKSPACE_CUSTOMER_ID: &str = "00000000-0000-4000-8000-0000000000d1";
/// Default listen address of `sessions-emulator serve`.
pub const LISTEN: &str = "127.0.0.1:7443";

/// File in the data dir holding the ready line of the running emulator.
pub const READY_FILE: &str = "ready.json";
/// Audience of ARM tokens.
pub const ARM_AUDIENCE: &str = "https://management.azure.com/";
/// Audience of pool data-plane tokens.
pub const DATAPLANE_AUDIENCE: &str = "https://dynamicsessions.io";
/// Audience of Log Analytics query tokens.
pub const LOG_ANALYTICS_AUDIENCE: &str = "https://api.loganalytics.io";

/// ARM id of the seeded resource group.
pub fn resource_group_id() -> String {
    ResourceId::resource_group(SUBSCRIPTION_ID, RESOURCE_GROUP).to_string()
}

/// ARM id of the seeded managed environment.
pub fn environment_id() -> String {
    ResourceId::resource(
        SUBSCRIPTION_ID,
        RESOURCE_GROUP,
        "Microsoft.App/managedEnvironments",
        ENVIRONMENT,
    )
    .to_string()
}

/// ARM id of the seeded Log Analytics workspace.
pub fn workspace_id() -> String {
    ResourceId::resource(
        SUBSCRIPTION_ID,
        RESOURCE_GROUP,
        "Microsoft.OperationalInsights/workspaces",
        WORKSPACE,
    )
    .to_string()
}
