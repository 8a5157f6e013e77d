//! Where the store lives: an SQLite file (the embedded default) or a PostgreSQL database
//! named by a `postgres://` URL.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Where a run's history is kept (its `Debug` masks a URL's password, as [`Location::display`]).
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created with its directory when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://user[:password]@host[:port]/database[?options]`
    /// (libpq's URL form; `PGPASSWORD` supplies a password the URL leaves out).
    Postgres(String),
}

impl Location {
    /// Reads a setting: a `postgres://` or `postgresql://` URL, else a file path (a relative
    /// one taken from `base`, the settings file's directory).
    pub fn parse(text: &str, base: &Path) -> Result<Self> {
        let t = text.trim();
        if t.is_empty() {
            bail!("is empty: give an SQLite file or a postgres:// URL");
        }
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            let url = t.to_string();
            pg_config(&url)?;
            return Ok(Location::Postgres(url));
        }
        if let Some((scheme, _)) = t.split_once("://") {
            bail!("'{scheme}://' is not a store: give an SQLite file or a postgres:// URL");
        }
        let p = PathBuf::from(t);
        Ok(Location::Sqlite(if p.is_relative() {
            base.join(p)
        } else {
            p
        }))
    }

    /// The location for logs and the health endpoint: the file, or the URL with its
    /// password masked.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => masked(url),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.display()).finish(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// The URL with the password (if any) replaced by `***`.
fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_string(),
    }
}

/// The client settings of a URL; a password the URL leaves out comes from `PGPASSWORD`.
pub(crate) fn pg_config(url: &str) -> Result<postgres::Config> {
    let mut c: postgres::Config = url
        .parse()
        .with_context(|| format!("'{}' is not a PostgreSQL URL", masked(url)))?;
    if c.get_dbname().is_none() {
        bail!(
            "'{}' names no database (postgres://user@host:port/DATABASE)",
            masked(url)
        );
    }
    if c.get_password().is_none() {
        if let Ok(p) = std::env::var("PGPASSWORD") {
            c.password(p);
        }
    }
    if c.get_connect_timeout().is_none() {
        c.connect_timeout(std::time::Duration::from_secs(10));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_urls_and_mistakes() {
        let base = Path::new("/etc/aems");
        assert_eq!(
            Location::parse("run.sqlite", base).unwrap(),
            Location::Sqlite("/etc/aems/run.sqlite".into())
        );
        let pg = Location::parse("postgres://aems:s3cret@127.0.0.1:5432/aems", base).unwrap();
        assert_eq!(pg.display(), "postgres://aems:***@127.0.0.1:5432/aems");
        assert!(!format!("{pg}").contains("s3cret"));
        assert!(!format!("{pg:?}").contains("s3cret"));
        let e = Location::parse("mysql://x@y/z", base).unwrap_err();
        assert!(e.to_string().contains("'mysql://' is not a store"), "{e}");
        let e = Location::parse("postgres://aems@127.0.0.1:5432", base).unwrap_err();
        assert!(e.to_string().contains("names no database"), "{e}");
        let e = Location::parse("postgres://aems@127.0.0.1:notaport/x", base).unwrap_err();
        assert!(e.to_string().contains("is not a PostgreSQL URL"), "{e:#}");
    }
}
