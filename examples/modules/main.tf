# Three session pools through the local module ./session-pools, against the local emulator:
#
#   eval "$(sessions-emulator env)"
#   terraform get      # installs the local module (with dev_overrides, not `terraform init`)
#   terraform apply
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

variable "api_token" {
  description = "Handed to the sessions of the \"tools\" pool as a secret."
  type        = string
  sensitive   = true
  default     = "not-so-secret"
}

locals {
  resource_group = "/subscriptions/${var.subscription_id}/resourceGroups/sessions-dev"
}

module "session_pools" {
  source = "./session-pools"

  resource_group_name = "sessions-dev"
  location            = "eastus"
  environment_id      = "${local.resource_group}/providers/Microsoft.App/managedEnvironments/sessions-env"
  workspace_id        = "${local.resource_group}/providers/Microsoft.OperationalInsights/workspaces/sessions-logs"

  pools = {
    interpreter = {
      image                   = "localhost/sample-session:latest"
      max_concurrent_sessions = 10
      ready_session_instances = 2
    }
    tools = {
      image                   = "localhost/sample-session:latest"
      max_concurrent_sessions = 5
      network_egress_enabled  = true
      env                     = { MODE = "tools" }
      secrets                 = { "api-token" = var.api_token }
    }
    sandbox = {
      image                   = "localhost/sample-session:latest"
      max_concurrent_sessions = 3
    }
  }
}

output "endpoints" {
  value = module.session_pools.endpoints
}
