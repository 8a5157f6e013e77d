//! The two databases the store runs on, behind one small interface: statements written
//! once with SQLite's `?N` placeholders (turned into PostgreSQL's `$N`), values bound as
//! [`Val`], rows read back as [`Value`], every call one transaction.
//!
//! PostgreSQL is reached with the synchronous `postgres` client, which drives its own
//! single-threaded Tokio runtime; the live loop calls the store from inside its runtime,
//! where blocking on another runtime is forbidden, so every PostgreSQL call runs on a
//! short-lived scoped thread of its own (tens of microseconds beside a round trip).

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, FixedOffset};
use postgres::types::{IsNull, ToSql, Type};

/// A value bound to a statement's placeholder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    /// An integer (SQLite INTEGER, PostgreSQL BIGINT).
    Int(Option<i64>),
    /// A number (REAL, DOUBLE PRECISION).
    Real(Option<f64>),
    /// Text.
    Text(Option<&'a str>),
    /// A time (RFC 3339 text in SQLite, TIMESTAMPTZ in PostgreSQL).
    Time(DateTime<FixedOffset>),
}

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V};
        Ok(match *self {
            Val::Int(v) => ToSqlOutput::Owned(v.map_or(V::Null, V::Integer)),
            Val::Real(v) => ToSqlOutput::Owned(v.map_or(V::Null, V::Real)),
            Val::Text(v) => ToSqlOutput::Owned(v.map_or(V::Null, |s| V::Text(s.to_string()))),
            Val::Time(t) => ToSqlOutput::Owned(V::Text(t.to_rfc3339())),
        })
    }
}

impl Val<'_> {
    /// The value as the PostgreSQL type it holds.
    fn inner(&self) -> &(dyn ToSql + Sync) {
        match self {
            Val::Int(v) => v,
            Val::Real(v) => v,
            Val::Text(v) => v,
            Val::Time(t) => t,
        }
    }
}

impl ToSql for Val<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // (Postgres calls `to_sql_checked`; this is its unchecked twin.)
        self.inner().to_sql_checked(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql_checked` below, against the variant it holds (the
        // `to_sql_checked!` macro would check this, which cannot see the variant).
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.inner().to_sql_checked(ty, out)
    }
}

/// A value read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A number.
    Real(f64),
    /// Text (also SQLite's times).
    Text(String),
    /// A time (PostgreSQL's TIMESTAMPTZ, in UTC).
    Time(DateTime<FixedOffset>),
}

impl Value {
    /// The value as a number (integers converted), or None (NULL, text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The value as an integer, or None.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value as text, or None (a time is given as RFC 3339).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Text(s) => Some(s.clone()),
            Value::Time(t) => Some(t.to_rfc3339()),
            _ => None,
        }
    }

    /// The value as a time (SQLite's RFC 3339 text parsed), or None.
    pub fn as_time(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            Value::Time(t) => Some(*t),
            Value::Text(s) => DateTime::parse_from_rfc3339(s).ok(),
            _ => None,
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// One transaction's statements.
pub(crate) trait Tx {
    /// Runs a statement; returns the rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    /// Runs a query; returns its rows.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Value>>>;
    /// Runs an `INSERT … RETURNING id`; returns the id.
    fn insert_id(&mut self, sql: &str, params: &[Val]) -> Result<i64> {
        self.query(sql, params)?
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow!("no id returned by: {sql}"))
    }
}

/// A PostgreSQL connection, its prepared statements, and how to connect again.
pub(crate) struct Pg {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    config: postgres::Config,
}

impl Pg {
    /// The connection, made again if the last one was lost (the server restarted, the
    /// network dropped): the call that found it lost failed; the next one reconnects.
    fn client(&mut self) -> Result<&mut postgres::Client> {
        if self.client.is_closed() {
            self.client = self
                .config
                .connect(postgres::NoTls)
                .context("reconnecting to the PostgreSQL store")?;
            self.statements.clear();
        }
        Ok(&mut self.client)
    }
}

/// The database under the store.
pub(crate) enum Backend {
    /// An embedded SQLite file.
    Sqlite(Mutex<rusqlite::Connection>),
    /// A PostgreSQL server (None once dropped).
    Postgres(Mutex<Option<Box<Pg>>>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite(_) => "Backend::Sqlite",
            Backend::Postgres(_) => "Backend::Postgres",
        })
    }
}

impl Backend {
    /// Connects to PostgreSQL (on a thread of its own: see the module's notes).
    pub fn postgres(config: &postgres::Config) -> Result<Self> {
        let client = std::thread::scope(|s| {
            s.spawn(|| config.connect(postgres::NoTls))
                .join()
                .map_err(|_| anyhow!("the PostgreSQL connection thread panicked"))
        })??;
        Ok(Backend::Postgres(Mutex::new(Some(Box::new(Pg {
            client,
            statements: HashMap::new(),
            config: config.clone(),
        })))))
    }

    /// Runs `f` in one transaction, committed when it returns Ok.
    pub fn tx<R: Send>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<R> + Send) -> Result<R> {
        match self {
            Backend::Sqlite(c) => {
                let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
                let tx = c.transaction()?;
                let mut t = SqliteTx(&tx);
                let r = f(&mut t)?;
                tx.commit()?;
                Ok(r)
            }
            Backend::Postgres(pg) => std::thread::scope(|s| {
                s.spawn(|| {
                    let mut guard = pg.lock().unwrap_or_else(|p| p.into_inner());
                    let pg = guard
                        .as_mut()
                        .ok_or_else(|| anyhow!("the PostgreSQL store is closed"))?;
                    pg.client()?;
                    let tx = pg.client.transaction()?;
                    let mut t = PgTx {
                        tx,
                        statements: &mut pg.statements,
                    };
                    let r = f(&mut t)?;
                    t.tx.commit()?;
                    Ok(r)
                })
                .join()
                .map_err(|_| anyhow!("a PostgreSQL store call panicked"))?
            }),
        }
    }

    /// Runs a batch of statements outside a transaction (schema set-up).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Backend::Sqlite(c) => Ok(c
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .execute_batch(sql)?),
            Backend::Postgres(pg) => std::thread::scope(|s| {
                s.spawn(|| {
                    let mut guard = pg.lock().unwrap_or_else(|p| p.into_inner());
                    let pg = guard
                        .as_mut()
                        .ok_or_else(|| anyhow!("the PostgreSQL store is closed"))?;
                    pg.client()?.batch_execute(sql)?;
                    Ok(())
                })
                .join()
                .map_err(|_| anyhow!("a PostgreSQL store call panicked"))?
            }),
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Closing the client blocks on its runtime: off any runtime this runs in.
        if let Backend::Postgres(pg) = self {
            if let Some(pg) = pg.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
                std::thread::scope(|s| {
                    s.spawn(move || drop(pg));
                });
            }
        }
    }
}

struct SqliteTx<'a>(&'a rusqlite::Transaction<'a>);

impl Tx for SqliteTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut st = self.0.prepare_cached(sql)?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Value>>> {
        use rusqlite::types::ValueRef;
        let mut st = self.0.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => bail!("column {i} of '{sql}' is a blob"),
                });
            }
            out.push(row);
        }
        Ok(out)
    }
}

struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a mut HashMap<String, postgres::Statement>,
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N` (the statements quote no `?`).
fn dollar(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl PgTx<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self
            .tx
            .prepare(&dollar(sql))
            .with_context(|| format!("PostgreSQL cannot prepare: {sql}"))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

fn refs<'a>(params: &'a [Val<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let st = self.statement(sql)?;
        Ok(self.tx.execute(&st, &refs(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Value>>> {
        let st = self.statement(sql)?;
        let rows = self.tx.query(&st, &refs(params))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        let ty = r.columns()[i].type_().clone();
                        Ok(match ty {
                            Type::INT8 => r.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
                            Type::INT4 => r
                                .get::<_, Option<i32>>(i)
                                .map_or(Value::Null, |v| Value::Int(v.into())),
                            Type::INT2 => r
                                .get::<_, Option<i16>>(i)
                                .map_or(Value::Null, |v| Value::Int(v.into())),
                            Type::FLOAT8 => {
                                r.get::<_, Option<f64>>(i).map_or(Value::Null, Value::Real)
                            }
                            Type::FLOAT4 => r
                                .get::<_, Option<f32>>(i)
                                .map_or(Value::Null, |v| Value::Real(v.into())),
                            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                                r.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text)
                            }
                            Type::TIMESTAMPTZ => r
                                .get::<_, Option<DateTime<FixedOffset>>>(i)
                                .map_or(Value::Null, Value::Time),
                            Type::BOOL => r
                                .get::<_, Option<bool>>(i)
                                .map_or(Value::Null, |b| Value::Int(b.into())),
                            other => bail!(
                                "column {} of '{sql}' has type {other}: cast it to a number, text or a time",
                                r.columns()[i].name()
                            ),
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_become_dollars() {
        assert_eq!(
            super::dollar("UPDATE t SET a=?2, b='?' WHERE id=?1 AND x=?10"),
            "UPDATE t SET a=$2, b='?' WHERE id=$1 AND x=$10"
        );
    }
}
