data "azuresessions_session_pool" "example" {
  name                = "examplepool"
  resource_group_name = "sessions-dev"
}

output "pool_management_endpoint" {
  value = data.azuresessions_session_pool.example.pool_management_endpoint
}
