data "azuresessions_session_pool" "example" {
  name                = "examplepool"
  resource_group_name = "sessions-dev"

  # Only needed when the pool is created in the same configuration.
  depends_on = [azuresessions_session_pool.example]
}

output "pool_management_endpoint" {
  value = data.azuresessions_session_pool.example.pool_management_endpoint
}
