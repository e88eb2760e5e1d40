import {
  to = azuresessions_session_pool.example
  identity = {
    resource_group_name = "sessions-dev"
    name                = "examplepool"
    # subscription_id defaults to the provider's subscription
  }
}
