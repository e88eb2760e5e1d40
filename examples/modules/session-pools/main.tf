# A reusable module: one session pool per entry of `pools` (for_each), each with a Liveness
# probe, its secrets, a system-assigned identity exposed to session code, and its metrics
# exported to Log Analytics.

terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}

variable "resource_group_name" {
  type = string
}

variable "location" {
  type = string
}

variable "environment_id" {
  description = "ARM id of the Container Apps managed environment the pools run in."
  type        = string
}

variable "workspace_id" {
  description = "ARM id of the Log Analytics workspace that receives the pools' metrics."
  type        = string
}

variable "pools" {
  description = "Pools by name. Leave an optional setting out to get its documented default."
  type = map(object({
    image                   = string
    max_concurrent_sessions = number
    ready_session_instances = optional(number)
    network_egress_enabled  = optional(bool)
    env                     = optional(map(string), {})
    secrets                 = optional(map(string), {})
  }))
}

resource "azuresessions_session_pool" "this" {
  for_each = var.pools

  name                         = each.key
  resource_group_name          = var.resource_group_name
  location                     = var.location
  container_app_environment_id = var.environment_id
  container_type               = "CustomContainer"
  max_concurrent_sessions      = each.value.max_concurrent_sessions
  ready_session_instances      = each.value.ready_session_instances
  network_egress_enabled       = each.value.network_egress_enabled

  identity {
    type = "SystemAssigned"
  }

  managed_identity_setting {
    identity = "System"
  }

  dynamic "secret" {
    for_each = each.value.secrets
    content {
      name  = secret.key
      value = secret.value
    }
  }

  custom_container_template {
    ingress_target_port = 8080

    container {
      name  = "main"
      image = each.value.image

      dynamic "env" {
        for_each = each.value.env
        content {
          name  = env.key
          value = env.value
        }
      }

      # Every secret is also an environment variable of the same name, upper-cased.
      dynamic "env" {
        for_each = each.value.secrets
        content {
          name        = upper(replace(env.key, "-", "_"))
          secret_name = env.key
        }
      }

      probe {
        type = "Liveness"
        http_get {
          path = "/health"
          port = 8080
        }
      }
    }
  }
}

resource "azuresessions_diagnostic_setting" "metrics" {
  for_each = azuresessions_session_pool.this

  name                       = "metrics"
  target_resource_id         = each.value.id
  log_analytics_workspace_id = var.workspace_id

  enabled_metric {
    category = "AllMetrics"
  }
}

output "endpoints" {
  description = "Pool management endpoint of each pool, by name."
  value       = { for name, pool in azuresessions_session_pool.this : name => pool.pool_management_endpoint }
}
