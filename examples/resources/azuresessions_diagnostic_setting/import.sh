# A diagnostic setting is imported as "{target_resource_id}|{name}".
terraform import azuresessions_diagnostic_setting.sessions '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/managedEnvironments/sessions-env|session-logs'
