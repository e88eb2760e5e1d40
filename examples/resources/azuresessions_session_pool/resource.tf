resource "azuresessions_session_pool" "example" {
  name                         = "examplepool"
  resource_group_name          = "sessions-dev"
  location                     = "eastus"
  container_app_environment_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/managedEnvironments/sessions-env"
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"

  max_concurrent_sessions    = 10
  ready_session_instances    = 2
  lifecycle_type             = "Timed"
  cooldown_period_in_seconds = 300
  network_egress_enabled     = false

  secret {
    name  = "api-key"
    value = "example-only"
  }

  custom_container_template {
    ingress_target_port = 8080

    container {
      name   = "main"
      image  = "localhost/sample-session:latest"
      cpu    = 0.25
      memory = "0.5Gi"

      env {
        name        = "API_KEY"
        secret_name = "api-key"
      }

      probe {
        type = "Liveness"
        http_get {
          path = "/health"
          port = 8080
        }
        period_seconds = 10
      }

      probe {
        type = "Startup"
        tcp_socket {
          port = 8080
        }
        initial_delay_seconds = 1
      }
    }
  }

  tags = {
    team = "platform"
  }
}
