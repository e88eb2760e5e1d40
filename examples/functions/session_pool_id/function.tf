# Terraform 1.8+. Builds a pool id without looking the pool up.
output "pool_id" {
  value = provider::azuresessions::session_pool_id(
    "00000000-0000-4000-8000-000000000001", "sessions-dev", "quickstart"
  )
}
