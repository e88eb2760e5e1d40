# Terraform 1.14+: `terraform apply -invoke=action.azuresessions_stop_session.user42`
action "azuresessions_stop_session" "user42" {
  config {
    session_pool_id = azuresessions_session_pool.example.id
    identifier      = "user-42"
  }
}
