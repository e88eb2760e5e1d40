import {
  to = azuresessions_diagnostic_setting.sessions
  id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/managedEnvironments/sessions-env|session-logs"
}
