//! Who may act: users from the settings file, each with a bearer token or a password
//! stored only as an argon2 PHC hash (`aems hash-secret` makes one), and a role.
//!
//! No `Authorization` header, or one that is not `Bearer …` / `Basic …`: 401 (the caller
//! has not said who it is). Credentials that match nobody, or a viewer asking to act: 403.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand_core::OsRng;
use serde::Deserialize;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read and act.
    #[default]
    Operator,
    /// Read only.
    Viewer,
}

/// One `[[operator.user]]` of the settings file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSetting {
    /// Name (in the audit log).
    pub name: String,
    /// argon2 PHC hash of the user's bearer token.
    #[serde(default)]
    pub token_hash: Option<String>,
    /// argon2 PHC hash of the user's password (HTTP Basic).
    #[serde(default)]
    pub password_hash: Option<String>,
    /// `operator` (default) or `viewer`.
    #[serde(default)]
    pub role: Role,
}

/// A user the credentials matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials (401).
    Unauthenticated(String),
    /// Credentials that match nobody, or not allowed to (403).
    Forbidden(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Unauthenticated(_) => 401,
            Refusal::Forbidden(_) => 403,
        }
    }

    /// The reason, in words.
    pub fn reason(&self) -> &str {
        match self {
            Refusal::Unauthenticated(r) | Refusal::Forbidden(r) => r,
        }
    }
}

/// The users and their hashed secrets.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    users: Vec<UserSetting>,
}

/// Hashes `secret` as an argon2id PHC string (what the settings file keeps).
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash: {e}"))
}

impl Credentials {
    /// Checks the users: names unique and not empty, each with a token or a password
    /// hash that parses as a PHC string. Errors name the user (`#i`) and the field.
    pub fn new(users: Vec<UserSetting>) -> Result<Self, String> {
        for (i, u) in users.iter().enumerate() {
            if u.name.trim().is_empty() {
                return Err(format!("[[operator.user]] #{i}: field 'name': empty"));
            }
            if users[..i].iter().any(|o| o.name == u.name) {
                return Err(format!(
                    "[[operator.user]] #{i} ('{}'): field 'name': given twice",
                    u.name
                ));
            }
            if u.token_hash.is_none() && u.password_hash.is_none() {
                return Err(format!(
                    "[[operator.user]] #{i} ('{}'): field 'token_hash': neither token_hash nor password_hash given (make one with `aems hash-secret`)",
                    u.name
                ));
            }
            for (field, h) in [
                ("token_hash", &u.token_hash),
                ("password_hash", &u.password_hash),
            ] {
                if let Some(h) = h {
                    PasswordHash::new(h).map_err(|e| {
                        format!(
                            "[[operator.user]] #{i} ('{}'): field '{field}': not an argon2 PHC hash ({e}); make one with `aems hash-secret`",
                            u.name
                        )
                    })?;
                }
            }
        }
        Ok(Self { users })
    }

    /// Whether any user is configured.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Who the `Authorization` header value says the caller is.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Who, Refusal> {
        let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return Err(Refusal::Unauthenticated(
                "no credentials: send 'Authorization: Bearer <token>' (or HTTP Basic)".into(),
            ));
        };
        let (scheme, value) = h.split_once(' ').unwrap_or((h, ""));
        let value = value.trim();
        let verify = |hash: &Option<String>, secret: &str| {
            hash.as_deref()
                .and_then(|h| PasswordHash::new(h).ok())
                .is_some_and(|p| {
                    Argon2::default()
                        .verify_password(secret.as_bytes(), &p)
                        .is_ok()
                })
        };
        let found = if scheme.eq_ignore_ascii_case("bearer") && !value.is_empty() {
            self.users.iter().find(|u| verify(&u.token_hash, value))
        } else if scheme.eq_ignore_ascii_case("basic") && !value.is_empty() {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    Refusal::Unauthenticated(
                        "Basic credentials are not base64 of user:password".into(),
                    )
                })?;
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                Refusal::Unauthenticated("Basic credentials are not user:password".into())
            })?;
            self.users
                .iter()
                .find(|u| u.name == user && verify(&u.password_hash, pass))
        } else {
            return Err(Refusal::Unauthenticated(format!(
                "unsupported Authorization scheme '{scheme}': use Bearer or Basic"
            )));
        };
        match found {
            Some(u) => Ok(Who {
                name: u.name.clone(),
                role: u.role,
            }),
            None => Err(Refusal::Forbidden(
                "the credentials match no operator".into(),
            )),
        }
    }

    /// Who may act: authenticated and not a viewer.
    pub fn authorize_action(&self, header: Option<&str>) -> Result<Who, Refusal> {
        let who = self.authenticate(header)?;
        if who.role == Role::Viewer {
            return Err(Refusal::Forbidden(format!(
                "user '{}' is a viewer: reads only",
                who.name
            )));
        }
        Ok(who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_passwords_are_checked_against_their_hashes() {
        let c = Credentials::new(vec![
            UserSetting {
                name: "tanaka".into(),
                token_hash: Some(hash_secret("s3cret-token").unwrap()),
                password_hash: Some(hash_secret("pw").unwrap()),
                role: Role::Operator,
            },
            UserSetting {
                name: "guest".into(),
                token_hash: Some(hash_secret("look").unwrap()),
                password_hash: None,
                role: Role::Viewer,
            },
        ])
        .unwrap();
        assert_eq!(c.authenticate(None).unwrap_err().status(), 401);
        assert_eq!(c.authenticate(Some("Token x")).unwrap_err().status(), 401);
        assert_eq!(
            c.authenticate(Some("Bearer nope")).unwrap_err().status(),
            403
        );
        assert_eq!(
            c.authenticate(Some("Bearer s3cret-token")).unwrap().name,
            "tanaka"
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("tanaka:pw");
        assert_eq!(
            c.authenticate(Some(&format!("Basic {basic}")))
                .unwrap()
                .name,
            "tanaka"
        );
        let wrong = base64::engine::general_purpose::STANDARD.encode("tanaka:px");
        assert_eq!(
            c.authenticate(Some(&format!("Basic {wrong}")))
                .unwrap_err()
                .status(),
            403
        );
        let e = c.authorize_action(Some("Bearer look")).unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(e.reason().contains("viewer"));
        // Bad settings name the user and field.
        let e = Credentials::new(vec![UserSetting {
            name: "x".into(),
            token_hash: Some("plain-text".into()),
            password_hash: None,
            role: Role::Operator,
        }])
        .unwrap_err();
        assert!(
            e.contains("#0 ('x'): field 'token_hash': not an argon2 PHC hash"),
            "{e}"
        );
        let e = Credentials::new(vec![UserSetting {
            name: "x".into(),
            token_hash: None,
            password_hash: None,
            role: Role::Operator,
        }])
        .unwrap_err();
        assert!(e.contains("neither token_hash nor password_hash"), "{e}");
    }
}
