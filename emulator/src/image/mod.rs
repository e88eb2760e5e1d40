//! Image store: OCI layout, docker-save and OCI archive tars, registry pulls.
