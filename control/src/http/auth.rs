//! The admin token: where it comes from (a file or an environment variable
//! named in config, never the config itself) and the bearer check, which
//! compares in constant time.

use std::path::Path;

use anyhow::Context;

/// The admin token, or none (admin endpoints disabled).
#[derive(Clone)]
pub struct AdminToken(Option<Vec<u8>>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.write_str(if self.0.is_some() {
            "AdminToken(set)"
        } else {
            "AdminToken(none)"
        })
    }
}

/// Why a request may not use an admin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token is configured: admin is off.
    Disabled,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that does not match.
    Wrong,
}

impl AdminToken {
    /// Reads the token from `file` (when not empty) or else from the
    /// environment variable `env` (when named and set); surrounding
    /// whitespace is not part of it.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no token: the operator asked for
    /// one, so starting without it would be a surprise.
    pub fn load(file: &Path, env: &str) -> anyhow::Result<AdminToken> {
        if !file.as_os_str().is_empty() {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("control.token_file: cannot read {}", file.display()))?;
            let token = text.trim();
            anyhow::ensure!(
                !token.is_empty(),
                "control.token_file: {} holds no token",
                file.display()
            );
            return Ok(AdminToken(Some(token.as_bytes().to_vec())));
        }
        let from_env = (!env.is_empty())
            .then(|| std::env::var(env).ok())
            .flatten()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        Ok(AdminToken(from_env.map(String::into_bytes)))
    }

    /// Whether admin endpoints are on.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// The token's id, as the audit stream names who sent a command: a
    /// 32-bit FNV-1a hash of it, which tells tokens apart (a rotation shows)
    /// without saying anything useful about one; 0 with none. Nonzero for
    /// any token, so that 0 always means the engine itself.
    pub fn id(&self) -> u32 {
        let Some(token) = &self.0 else {
            return 0;
        };
        let hash = token.iter().fold(0x811c_9dc5_u32, |hash, &byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        });
        hash.max(1)
    }

    /// Checks an `Authorization` header's value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), Denied> {
        let Some(token) = &self.0 else {
            return Err(Denied::Disabled);
        };
        let offered = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(Denied::Missing)?;
        if constant_time_eq(offered.trim().as_bytes(), token) {
            Ok(())
        } else {
            Err(Denied::Wrong)
        }
    }
}

/// Equality whose time depends on the lengths only, not on where the first
/// difference is.
fn constant_time_eq(offered: &[u8], token: &[u8]) -> bool {
    let mut diff = u8::from(offered.len() != token.len());
    for (i, &expected) in token.iter().enumerate() {
        let got = offered.get(i).copied().unwrap_or(!expected);
        diff |= got ^ expected;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> AdminToken {
        AdminToken(Some(t.as_bytes().to_vec()))
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let t = token("s3cret");
        assert_eq!(t.check(Some("Bearer s3cret")), Ok(()));
        assert_eq!(t.check(Some("Bearer s3cre")), Err(Denied::Wrong));
        assert_eq!(t.check(Some("Bearer s3cret!")), Err(Denied::Wrong));
        assert_eq!(t.check(Some("Bearer S3cret")), Err(Denied::Wrong));
        assert_eq!(t.check(Some("Basic s3cret")), Err(Denied::Missing));
        assert_eq!(t.check(None), Err(Denied::Missing));
        assert_eq!(
            AdminToken(None).check(Some("Bearer s3cret")),
            Err(Denied::Disabled)
        );
    }

    #[test]
    fn the_file_wins_over_the_environment_and_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let t = AdminToken::load(&file, "PATH").unwrap();
        assert_eq!(t.check(Some("Bearer from-file")), Ok(()));
        std::fs::write(&file, "  \n").unwrap();
        assert!(
            AdminToken::load(&file, "").is_err(),
            "an empty file is an error"
        );
        assert!(AdminToken::load(&dir.path().join("missing"), "").is_err());
        assert!(!AdminToken::load(Path::new(""), "").unwrap().is_set());
        assert!(!AdminToken::load(Path::new(""), "REDLINE_NO_SUCH_VARIABLE")
            .unwrap()
            .is_set());
    }
}
