terraform {
  required_providers {
    azuresessions = {
      source = "azuresessions/azuresessions"
    }
  }
}

# Against the local emulator: `eval "$(sessions-emulator env)"` exports ARM_SUBSCRIPTION_ID,
# ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_ENDPOINT, ARM_AUTHORITY_HOST and
# ARM_CA_CERTIFICATE_FILE, so the block can stay empty.
provider "azuresessions" {}

# Against Azure with a service principal (or leave it empty and use `az login`):
# provider "azuresessions" {
#   subscription_id = "00000000-0000-0000-0000-000000000000"
#   tenant_id       = "00000000-0000-0000-0000-000000000000"
#   client_id       = "00000000-0000-0000-0000-000000000000"
#   client_secret   = var.client_secret
# }
