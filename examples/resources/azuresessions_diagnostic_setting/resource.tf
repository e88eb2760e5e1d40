# Session console, lifecycle and pool-event logs are categories of the managed environment.
resource "azuresessions_diagnostic_setting" "sessions" {
  name                           = "session-logs"
  target_resource_id             = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/managedEnvironments/sessions-env"
  log_analytics_workspace_id     = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.OperationalInsights/workspaces/sessions-logs"
  log_analytics_destination_type = "Dedicated"

  enabled_log {
    category = "AppEnvSessionConsoleLogs"
  }
  enabled_log {
    category = "AppEnvSessionLifeCycleLogs"
  }
  enabled_log {
    category = "AppEnvSessionPoolEventLogs"
  }
}

# Pools export their three metrics through AllMetrics.
resource "azuresessions_diagnostic_setting" "pool_metrics" {
  name                       = "pool-metrics"
  target_resource_id         = azuresessions_session_pool.example.id
  log_analytics_workspace_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.OperationalInsights/workspaces/sessions-logs"

  enabled_metric {
    category = "AllMetrics"
  }
}
