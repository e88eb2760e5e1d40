import {
  to = azuresessions_session_pool.example
  id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/sessionPools/examplepool"
}
