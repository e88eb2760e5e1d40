//! Image store: OCI layout, docker-save and OCI archive tars, registry pulls, all into a
//! content-addressed cache; hands the VM layer a [`PreparedImage`].

mod prepared;

pub use prepared::{ImageConfig, PreparedImage};
