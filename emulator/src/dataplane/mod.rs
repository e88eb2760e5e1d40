//! Pool data plane: proxy to sessions and the .management API.
