# `terraform test` suite of the module: plan-time checks, then a real pool in the emulator
# (created, checked, updated in place, destroyed by the framework at the end).

run "rejects_a_bad_size" {
  command = plan

  variables {
    max_concurrent_sessions = 0
  }

  expect_failures = [var.max_concurrent_sessions]
}

run "plans_the_pool" {
  command = plan

  assert {
    condition     = azuresessions_session_pool.this.name == "tftestpool"
    error_message = "the pool is named after var.name"
  }

  assert {
    condition     = azuresessions_session_pool.this.custom_container_template[0].ingress_target_port == 8080
    error_message = "the sample image serves on 8080"
  }
}

run "creates_the_pool" {
  command = apply

  assert {
    condition     = endswith(output.id, "/providers/Microsoft.App/sessionPools/tftestpool")
    error_message = "the id names the pool: ${output.id}"
  }

  assert {
    condition     = startswith(output.pool_management_endpoint, "http")
    error_message = "the pool has a data-plane endpoint: ${output.pool_management_endpoint}"
  }
}

run "updates_in_place" {
  command = apply

  variables {
    max_concurrent_sessions = 5
  }

  assert {
    condition     = azuresessions_session_pool.this.max_concurrent_sessions == 5
    error_message = "max_concurrent_sessions is updated"
  }

  assert {
    condition     = output.id == run.creates_the_pool.id
    error_message = "an in-place update keeps the pool (no replacement)"
  }
}
