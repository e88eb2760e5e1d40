# Quickstart against the local emulator:
#
#   eval "$(sessions-emulator env)"
#   terraform apply    # provider installed via dev_overrides: see docs/guides/emulator-quickstart.md
#
# The emulator is seeded with the subscription, resource group "sessions-dev", the managed
# environment "sessions-env" (eastus) and the workspace "sessions-logs" used below.

terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}

provider "azuresessions" {}

variable "subscription_id" {
  type    = string
  default = "00000000-0000-4000-8000-000000000001"
}

locals {
  resource_group = "sessions-dev"
  environment_id = "/subscriptions/${var.subscription_id}/resourceGroups/${local.resource_group}/providers/Microsoft.App/managedEnvironments/sessions-env"
}

resource "azuresessions_session_pool" "quickstart" {
  name                         = "quickstart"
  resource_group_name          = local.resource_group
  location                     = "eastus"
  container_app_environment_id = local.environment_id
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"

  max_concurrent_sessions    = 5
  ready_session_instances    = 1
  lifecycle_type             = "Timed"
  cooldown_period_in_seconds = 300

  custom_container_template {
    ingress_target_port = 8080

    container {
      name   = "sample"
      image  = "localhost/sample-session:latest"
      cpu    = 0.25
      memory = "0.5Gi"

      probe {
        type = "Liveness"
        http_get {
          path = "/health"
          port = 8080
        }
        period_seconds = 10
      }
    }
  }
}

output "pool_management_endpoint" {
  value = azuresessions_session_pool.quickstart.pool_management_endpoint
}
