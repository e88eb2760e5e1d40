//! Azure client: ARM and data-plane HTTP, auth, LRO polling, its own models.
