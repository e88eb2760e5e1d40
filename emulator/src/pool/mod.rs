//! Pool manager: ready set, allocation, lifecycle, probes (backend-agnostic).
