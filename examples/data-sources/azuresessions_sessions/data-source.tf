data "azuresessions_sessions" "active" {
  session_pool_id = azuresessions_session_pool.example.id
}

output "active_session_identifiers" {
  value = [for s in data.azuresessions_sessions.active.sessions : s.identifier]
}
