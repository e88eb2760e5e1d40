# Terraform 1.8+. Splits a pool id, e.g. one passed in from another configuration.
locals {
  pool = provider::azuresessions::parse_session_pool_id(
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/sessionPools/quickstart"
  )
}

output "pool_resource_group" {
  value = local.pool.resource_group_name # "sessions-dev"
}

output "pool_name" {
  value = local.pool.name # "quickstart"
}
