//! Token endpoint, OpenID discovery, JWKS, bearer-token validation.
