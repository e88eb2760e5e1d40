# A small module with a test suite in Terraform's own test framework (`terraform test`), run
# against the local emulator; see README.md beside this file.

terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}

provider "azuresessions" {}

variable "name" {
  description = "Name of the session pool."
  type        = string
  default     = "tftestpool"
}

variable "resource_group" {
  description = "Resource group of the pool (the emulator seeds sessions-dev)."
  type        = string
  default     = "sessions-dev"
}

variable "environment_id" {
  description = "ARM id of the managed environment (the emulator seeds sessions-env)."
  type        = string
  default     = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/sessions-dev/providers/Microsoft.App/managedEnvironments/sessions-env"
}

variable "image" {
  description = "The session container image."
  type        = string
  default     = "localhost/sample-session:latest"
}

variable "max_concurrent_sessions" {
  description = "Most sessions at once."
  type        = number
  default     = 3

  validation {
    condition     = var.max_concurrent_sessions >= 1 && var.max_concurrent_sessions <= 600
    error_message = "max_concurrent_sessions must be between 1 and 600."
  }
}

resource "azuresessions_session_pool" "this" {
  name                         = var.name
  resource_group_name          = var.resource_group
  location                     = "eastus"
  container_app_environment_id = var.environment_id
  container_type               = "CustomContainer"
  pool_management_type         = "Dynamic"

  max_concurrent_sessions    = var.max_concurrent_sessions
  ready_session_instances    = 1
  lifecycle_type             = "Timed"
  cooldown_period_in_seconds = 300

  custom_container_template {
    ingress_target_port = 8080

    container {
      name   = "app"
      image  = var.image
      cpu    = 0.25
      memory = "0.5Gi"

      probe {
        type = "Startup"
        http_get {
          path = "/health"
          port = 8080
        }
        period_seconds = 1
      }
    }
  }
}

output "id" {
  description = "ARM id of the pool."
  value       = azuresessions_session_pool.this.id
}

output "pool_management_endpoint" {
  description = "Data-plane root of the pool."
  value       = azuresessions_session_pool.this.pool_management_endpoint
}
