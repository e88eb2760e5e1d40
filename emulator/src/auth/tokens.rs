//! Issuing and validating RS256 JWT access tokens.
//!
//! Tokens look like Entra v2.0 app-only tokens: `aud`, `iss` (`{endpoint}/{tenant}/v2.0`),
//! `tid`, `oid`, `sub`, `appid`, `azp`, `iat`, `nbf`, `exp`, `ver`, `idtyp`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::keys::SigningKey;
use crate::defaults;

/// Lifetime of issued tokens, in seconds.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;
/// Clock skew tolerated for `nbf`.
const SKEW_SECS: i64 = 300;

/// A client allowed to request tokens (client-credentials flow).
#[derive(Debug, Clone)]
pub struct Client {
    /// Application (client) id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// Service principal object id (`oid`, `sub`).
    pub object_id: String,
}

/// Claims of an emulator token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience.
    pub aud: String,
    /// Issuer.
    pub iss: String,
    /// Tenant id.
    pub tid: String,
    /// Object id of the caller.
    pub oid: String,
    /// Subject (same as `oid` for app tokens).
    pub sub: String,
    /// Client id (v1 claim).
    #[serde(default)]
    pub appid: String,
    /// Client id (v2 claim).
    #[serde(default)]
    pub azp: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before (unix seconds).
    pub nbf: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Token version.
    #[serde(default)]
    pub ver: String,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization` header.
    #[error("Authentication failed. The 'Authorization' header is missing. Send 'Authorization: Bearer <token>' with a token from the emulator's token endpoint.")]
    Missing,
    /// `Authorization` is not `Bearer <token>`.
    #[error("Authentication failed. The 'Authorization' header is provided in an invalid format. Use 'Bearer <token>'.")]
    BadScheme,
    /// Not a decodable JWT.
    #[error("The access token is malformed: {0}. Request a new token from the emulator's token endpoint.")]
    Malformed(String),
    /// Signature does not verify against the emulator's key.
    #[error("The access token signature is invalid. Tokens from another emulator data directory or from Azure are not accepted; request a new token.")]
    BadSignature,
    /// `exp` is in the past.
    #[error("The access token expired at {0}. Request a new token.")]
    Expired(String),
    /// `nbf` is in the future.
    #[error("The access token is not valid before {0}.")]
    NotYetValid(String),
    /// `iss` is not this emulator's issuer for its tenant.
    #[error("The access token is from the wrong issuer '{got}'. It must be '{expected}', the issuer of the emulator's tenant; request a new token from the emulator's token endpoint.")]
    WrongIssuer {
        /// The token's issuer.
        got: String,
        /// This emulator's issuer.
        expected: String,
    },
    /// `tid` is not the emulator's tenant.
    #[error("The access token is for tenant '{got}', not the emulator's tenant '{expected}'. Request a token from '{expected}'.")]
    WrongTenant {
        /// The token's tenant.
        got: String,
        /// The emulator's tenant.
        expected: String,
    },
    /// `aud` is not the one this surface requires.
    #[error(
        "The access token has an invalid audience '{got}'. The audience must be '{expected}'."
    )]
    WrongAudience {
        /// The token's audience.
        got: String,
        /// The required audience.
        expected: String,
    },
}

impl TokenError {
    /// True for [`TokenError::WrongAudience`] (403), false for the 401 cases.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, TokenError::WrongAudience { .. })
    }
}

/// Most tokens whose signature was verified that [`TokenService`] remembers.
const VERIFIED_CACHE: usize = 1024;

/// Issues and validates tokens for one tenant.
#[derive(Debug)]
pub struct TokenService {
    key: SigningKey,
    endpoint: String,
    clients: Vec<Client>,
    /// Tokens whose signature already verified, with their claims (skips the RSA check on
    /// repeated use; time window and audience are still checked every time).
    verified: parking_lot::Mutex<std::collections::HashMap<String, Claims>>,
}

fn ts(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// The audiences a surface accepts, compared exactly (case and trailing slash included), as
/// Azure compares `aud`: ARM takes its v2 audience with and without the trailing slash and the
/// classic `management.core.windows.net` (the forms Entra issues for the scopes and resources
/// clients ask for); every other surface takes exactly its own audience.
pub fn accepted_audiences(expected: &str) -> Vec<&str> {
    if expected == defaults::ARM_AUDIENCE {
        vec![
            defaults::ARM_AUDIENCE,
            "https://management.azure.com",
            "https://management.core.windows.net/",
            "https://management.core.windows.net",
        ]
    } else {
        vec![expected]
    }
}

/// True when a token for `got` is accepted where `expected` is required
/// ([`accepted_audiences`]; exact comparison).
fn audience_matches(got: &str, expected: &str) -> bool {
    accepted_audiences(expected).contains(&got)
}

/// Surfaces that also take a token whose audience is the emulator's own endpoint: the scope
/// SDKs derive from a custom endpoint (`{endpoint}/.default`) when pointed at the emulator for
/// ARM (Azure Monitor metrics) or the Log Analytics query API.
const SELF_AUDIENCE_SURFACES: [&str; 2] =
    [defaults::ARM_AUDIENCE, defaults::LOG_ANALYTICS_AUDIENCE];

/// `(scheme, host, port)` of an `http(s)` URL, host lower-cased, port defaulted.
fn origin_of(url: &str) -> Option<(String, String, u16)> {
    let u = url::Url::parse(url.trim_end_matches('/')).ok()?;
    if !matches!(u.scheme(), "http" | "https") || !u.path().trim_matches('/').is_empty() {
        return None;
    }
    let host = u.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase();
    Some((u.scheme().to_string(), host, u.port_or_known_default()?))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl TokenService {
    /// A service signing with `key`, issuing for the seeded client only.
    pub fn new(key: SigningKey, endpoint: &str) -> Self {
        TokenService {
            key,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            clients: vec![Client {
                client_id: defaults::CLIENT_ID.into(),
                client_secret: defaults::CLIENT_SECRET.into(),
                object_id: defaults::CLIENT_OBJECT_ID.into(),
            }],
            verified: parking_lot::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// True when `resource` (a URL) is this emulator's own endpoint: same scheme and port,
    /// and the same host or both loopback (`localhost`, `127.0.0.1`, `::1`).
    pub fn is_self(&self, resource: &str) -> bool {
        match (origin_of(resource), origin_of(&self.endpoint)) {
            (Some((s1, h1, p1)), Some((s2, h2, p2))) => {
                s1 == s2 && p1 == p2 && (h1 == h2 || (is_loopback(&h1) && is_loopback(&h2)))
            }
            _ => false,
        }
    }

    /// The audience of tokens issued for the emulator's own endpoint.
    pub fn self_audience(&self) -> &str {
        &self.endpoint
    }

    fn audience_ok(&self, got: &str, expected: &str) -> bool {
        audience_matches(got, expected)
            || (got
                .trim_end_matches('/')
                .eq_ignore_ascii_case(&self.endpoint)
                && SELF_AUDIENCE_SURFACES
                    .iter()
                    .any(|s| audience_matches(s, expected)))
    }

    /// The signing key (JWKS).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Issuer of tokens: `{endpoint}/{tenant}/v2.0`.
    pub fn issuer(&self) -> String {
        format!("{}/{}/v2.0", self.endpoint, defaults::TENANT_ID)
    }

    /// True when `iss` is this emulator's issuer: `{scheme}://{host}:{port}/{tenant}/v2.0`
    /// with this emulator's scheme and tenant, and its host (or both loopback). The port is
    /// not compared: the signing key lives in the data dir, so a restart on a new port (the
    /// default `--port 0`) keeps honouring the tokens it issued before, as Entra's tokens
    /// outlive any one front end. Anything else (a trailing slash, another tenant, another
    /// path) is refused.
    fn issuer_ok(&self, iss: &str) -> bool {
        let suffix = format!("/{}/v2.0", defaults::TENANT_ID);
        let Some(origin) = iss.strip_suffix(&suffix) else {
            return false;
        };
        match (origin_of(origin), origin_of(&self.endpoint)) {
            (Some((s1, h1, _)), Some((s2, h2, _))) => {
                s1 == s2 && (h1 == h2 || (is_loopback(&h1) && is_loopback(&h2)))
            }
            _ => false,
        }
    }

    /// The configured client with this id.
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    }

    /// A signed token for `client` and `audience`, issued at `now`.
    pub fn issue(&self, client: &Client, audience: &str, now: OffsetDateTime) -> String {
        let iat = now.unix_timestamp();
        let claims = json!({
            "aud": audience,
            "iss": self.issuer(),
            "iat": iat,
            "nbf": iat,
            "exp": iat + TOKEN_LIFETIME_SECS,
            "tid": defaults::TENANT_ID,
            "oid": client.object_id,
            "sub": client.object_id,
            "appid": client.client_id,
            "azp": client.client_id,
            "appidacr": "1",
            "idtyp": "app",
            "ver": "2.0",
            "uti": uuid::Uuid::new_v4().simple().to_string(),
        });
        self.sign_claims(&claims)
    }

    /// A signed token for a managed identity (a session pool's system-assigned identity or a
    /// user-assigned one): `oid`/`sub` = `principal_id`, `appid`/`azp` = `client_id`,
    /// `xms_mirid` = the identity's resource id, for `audience`, issued at `now`.
    pub fn issue_managed_identity(
        &self,
        principal_id: &str,
        client_id: &str,
        resource_id: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> String {
        let iat = now.unix_timestamp();
        let claims = json!({
            "aud": audience,
            "iss": self.issuer(),
            "iat": iat,
            "nbf": iat,
            "exp": iat + TOKEN_LIFETIME_SECS,
            "tid": defaults::TENANT_ID,
            "oid": principal_id,
            "sub": principal_id,
            "appid": client_id,
            "azp": client_id,
            "appidacr": "2",
            "idtyp": "app",
            "xms_mirid": resource_id,
            "ver": "2.0",
            "uti": uuid::Uuid::new_v4().simple().to_string(),
        });
        self.sign_claims(&claims)
    }

    /// Signs arbitrary claims (tests craft expired or foreign-audience tokens with this).
    pub fn sign_claims(&self, claims: &serde_json::Value) -> String {
        let header =
            json!({"typ": "JWT", "alg": "RS256", "kid": self.key.kid(), "x5t": self.key.kid()});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Validates signature, time window and audience of `token` at `now`.
    pub fn validate(
        &self,
        token: &str,
        expected_audience: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, TokenError> {
        let cached = self.verified.lock().get(token).cloned();
        let claims = match cached {
            Some(c) => c,
            None => {
                let c = self.verify_signature(token)?;
                let mut cache = self.verified.lock();
                if cache.len() >= VERIFIED_CACHE {
                    cache.clear();
                }
                cache.insert(token.to_string(), c.clone());
                c
            }
        };
        self.check_claims(claims, expected_audience, now)
    }

    /// Like [`Self::validate`] without returning the claims. A token whose signature already
    /// verified is checked (time window, audience) in place: one map lookup, no allocation.
    pub fn check(
        &self,
        token: &str,
        expected_audience: &str,
        now: OffsetDateTime,
    ) -> Result<(), TokenError> {
        {
            let cache = self.verified.lock();
            if let Some(c) = cache.get(token) {
                let t = now.unix_timestamp();
                if c.exp > t
                    && c.nbf <= t + SKEW_SECS
                    && self.audience_ok(&c.aud, expected_audience)
                {
                    return Ok(());
                }
            }
        }
        self.validate(token, expected_audience, now).map(|_| ())
    }

    /// Decodes `token` and verifies its RS256 signature; returns its claims.
    fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "expected three dot-separated parts".into(),
            ));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|_| TokenError::Malformed(format!("the {what} is not base64url")))
        };
        let header: serde_json::Value = serde_json::from_slice(&decode(h, "header")?)
            .map_err(|_| TokenError::Malformed("the header is not JSON".into()))?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
            return Err(TokenError::Malformed("the algorithm must be RS256".into()));
        }
        let sig = decode(s, "signature")?;
        let signing_input = &token[..h.len() + 1 + c.len()];
        if !self.key.verify(signing_input.as_bytes(), &sig) {
            return Err(TokenError::BadSignature);
        }
        let claims: Claims = serde_json::from_slice(&decode(c, "payload")?)
            .map_err(|e| TokenError::Malformed(format!("the claims are invalid ({e})")))?;
        // Issuer and tenant never change with time: checked once here, so a token in the
        // verified cache always has the right ones.
        if !claims.tid.eq_ignore_ascii_case(defaults::TENANT_ID) {
            return Err(TokenError::WrongTenant {
                got: claims.tid,
                expected: defaults::TENANT_ID.to_string(),
            });
        }
        if !self.issuer_ok(&claims.iss) {
            return Err(TokenError::WrongIssuer {
                got: claims.iss,
                expected: self.issuer(),
            });
        }
        Ok(claims)
    }

    /// Checks the time window and audience of verified claims.
    fn check_claims(
        &self,
        claims: Claims,
        expected_audience: &str,
        now: OffsetDateTime,
    ) -> Result<Claims, TokenError> {
        let now = now.unix_timestamp();
        if claims.exp <= now {
            return Err(TokenError::Expired(ts(claims.exp)));
        }
        if claims.nbf > now + SKEW_SECS {
            return Err(TokenError::NotYetValid(ts(claims.nbf)));
        }
        if !self.audience_ok(&claims.aud, expected_audience) {
            return Err(TokenError::WrongAudience {
                got: claims.aud,
                expected: expected_audience.to_string(),
            });
        }
        Ok(claims)
    }
}

/// The token in an `Authorization: Bearer ...` header value.
pub fn bearer_token(headers: &http::HeaderMap) -> Result<&str, TokenError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(TokenError::Missing)?
        .to_str()
        .map_err(|_| TokenError::BadScheme)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(TokenError::BadScheme)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::BadScheme);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(SigningKey::in_memory().expect("key"), "http://127.0.0.1:1")
    }

    #[test]
    fn issued_token_validates() {
        let s = service();
        let now = OffsetDateTime::now_utc();
        let client = s.client(defaults::CLIENT_ID).expect("client").clone();
        let t = s.issue(&client, defaults::ARM_AUDIENCE, now);
        let claims = s.validate(&t, defaults::ARM_AUDIENCE, now).expect("valid");
        assert_eq!(claims.tid, defaults::TENANT_ID);
        assert_eq!(claims.appid, defaults::CLIENT_ID);
        assert_eq!(claims.exp - claims.iat, TOKEN_LIFETIME_SECS);
    }

    #[test]
    fn refusals() {
        let s = service();
        let now = OffsetDateTime::now_utc();
        let client = s.client(defaults::CLIENT_ID).expect("client").clone();
        let t = s.issue(&client, defaults::DATAPLANE_AUDIENCE, now);
        assert!(matches!(
            s.validate(&t, defaults::ARM_AUDIENCE, now),
            Err(TokenError::WrongAudience { .. })
        ));
        let later = now + time::Duration::seconds(TOKEN_LIFETIME_SECS + 1);
        assert!(matches!(
            s.validate(&t, defaults::DATAPLANE_AUDIENCE, later),
            Err(TokenError::Expired(_))
        ));
        let mut tampered = t.clone();
        tampered.push('A');
        assert!(s
            .validate(&tampered, defaults::DATAPLANE_AUDIENCE, now)
            .is_err());
        assert!(matches!(
            s.validate("abc", defaults::DATAPLANE_AUDIENCE, now),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn cached_tokens_still_expire_and_check_audience() {
        let s = service();
        let now = OffsetDateTime::now_utc();
        let client = s.client(defaults::CLIENT_ID).expect("client").clone();
        let t = s.issue(&client, defaults::ARM_AUDIENCE, now);
        assert!(s.validate(&t, defaults::ARM_AUDIENCE, now).is_ok());
        assert!(s.validate(&t, defaults::ARM_AUDIENCE, now).is_ok());
        assert!(matches!(
            s.validate(&t, defaults::DATAPLANE_AUDIENCE, now),
            Err(TokenError::WrongAudience { .. })
        ));
        let later = now + time::Duration::hours(2);
        assert!(matches!(
            s.validate(&t, defaults::ARM_AUDIENCE, later),
            Err(TokenError::Expired(_))
        ));
    }

    #[test]
    fn audiences_compare_exactly() {
        for ok in [
            "https://management.azure.com/",
            "https://management.azure.com",
            "https://management.core.windows.net/",
            "https://management.core.windows.net",
        ] {
            assert!(audience_matches(ok, defaults::ARM_AUDIENCE), "{ok}");
        }
        for bad in [
            "https://management.azure.com//",
            "HTTPS://MANAGEMENT.AZURE.COM/",
            "https://management.azure.com/x",
            "https://dynamicsessions.io",
        ] {
            assert!(!audience_matches(bad, defaults::ARM_AUDIENCE), "{bad}");
        }
        assert!(audience_matches(
            defaults::DATAPLANE_AUDIENCE,
            defaults::DATAPLANE_AUDIENCE
        ));
        for bad in ["https://dynamicsessions.io/", "https://DynamicSessions.io"] {
            assert!(
                !audience_matches(bad, defaults::DATAPLANE_AUDIENCE),
                "{bad}"
            );
        }
    }

    #[test]
    fn issuer_and_tenant_are_checked_before_a_token_is_trusted() {
        let s = service();
        let now = OffsetDateTime::now_utc();
        let claims = |iss: &str, tid: &str| {
            json!({"aud": defaults::ARM_AUDIENCE, "iss": iss, "tid": tid, "oid": "o", "sub": "o",
                   "iat": now.unix_timestamp(), "nbf": now.unix_timestamp(),
                   "exp": now.unix_timestamp() + 600})
        };
        let good = s.sign_claims(&claims(&s.issuer(), defaults::TENANT_ID));
        assert!(s.validate(&good, defaults::ARM_AUDIENCE, now).is_ok());
        let other_tenant = "11111111-1111-4111-8111-111111111111";
        let cases = [
            claims(
                "https://login.microsoftonline.com/x/v2.0",
                defaults::TENANT_ID,
            ),
            claims(&format!("{}/", s.issuer()), defaults::TENANT_ID),
            claims(
                &format!("http://127.0.0.1:1/{other_tenant}/v2.0"),
                defaults::TENANT_ID,
            ),
            claims(&s.issuer(), other_tenant),
        ];
        // The same emulator restarted on another port still honours its tokens.
        let moved = s.issuer().replace(":1/", ":9555/");
        assert_ne!(moved, s.issuer());
        let t = s.sign_claims(&claims(&moved, defaults::TENANT_ID));
        assert!(s.validate(&t, defaults::ARM_AUDIENCE, now).is_ok());
        for c in cases {
            let t = s.sign_claims(&c);
            for _ in 0..2 {
                // Twice: a refused token must not be served from the verified cache.
                let e = s
                    .validate(&t, defaults::ARM_AUDIENCE, now)
                    .expect_err("refused");
                assert!(
                    matches!(
                        e,
                        TokenError::WrongIssuer { .. } | TokenError::WrongTenant { .. }
                    ),
                    "{e:?}"
                );
                assert!(s.check(&t, defaults::ARM_AUDIENCE, now).is_err());
            }
        }
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer_token(&h), Err(TokenError::Missing));
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Basic x"),
        );
        assert_eq!(bearer_token(&h), Err(TokenError::BadScheme));
        h.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer_token(&h), Ok("abc"));
    }
}
