# A session pool is imported by its ARM id.
terraform import azuresessions_session_pool.example /subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/sessionPools/examplepool
