//! The shadow tables a rebuild replays into: empty copies of the live tables in the schema
//! `read_rebuild_{name}`, under the same names, so the projector's unqualified SQL writes them
//! once `search_path` points there.
//!
//! The copies get the live tables' columns, defaults, checks and key constraints at once (the
//! projectors' upserts need their unique indexes), but their other indexes only after the replay:
//! building an index once over a full table is several times cheaper than updating it row by row,
//! and is what lets a rebuild go at tens of thousands of events per second. Every index keeps the
//! live one's name, so a rebuilt table is indistinguishable from the migration's.

use sqlx::PgConnection;

use crate::Projector;
use crate::runtime::rebuild_key;

/// The shadow schema, and what is left to do to its tables once the replay is done.
pub(super) struct Shadow {
    pub(super) schema: String,
    tables: Vec<&'static str>,
    /// `CREATE INDEX` statements of the live tables' indexes, retargeted at the copies.
    deferred_indexes: Vec<String>,
}

/// Takes the rebuild lock of projector `name` for this session; false when another holds it.
pub(super) async fn lock(conn: &mut PgConnection, name: &str) -> sqlx::Result<bool> {
    let (class, key) = rebuild_key(name);
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
        .bind(class)
        .bind(key)
        .fetch_one(conn)
        .await
}

/// One index of a live table: its table, definition, and the constraint it backs, if any.
type IndexRow = (String, String, Option<String>, Option<String>);

/// Creates the shadow schema and tables afresh (a failed rebuild's leftovers are dropped) and
/// points the session at them.
pub(super) async fn create(
    conn: &mut PgConnection,
    projector: &dyn Projector,
) -> sqlx::Result<Shadow> {
    // The name was checked to be `[a-z][a-z0-9_]*`, and table names are the projector's own
    // constants: safe to splice into DDL.
    let schema = format!("read_rebuild_{}", projector.name());
    let tables = projector.tables();
    // Read while `search_path` does not include `read`, so the definitions name `read.{table}`.
    let indexes: Vec<IndexRow> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_indexdef(i.indexrelid), con.conname::text,
                pg_get_constraintdef(con.oid)
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
          WHERE n.nspname = 'read' AND c.relname = ANY($1)",
    )
    .bind(tables)
    .fetch_all(&mut *conn)
    .await?;
    let mut ddl = format!(
        "SET client_min_messages TO warning; DROP SCHEMA IF EXISTS {schema} CASCADE; \
         CREATE SCHEMA {schema};"
    );
    for table in tables {
        ddl.push_str(&format!(
            " CREATE TABLE {schema}.{table} (LIKE read.{table} INCLUDING ALL EXCLUDING INDEXES);"
        ));
    }
    let mut deferred_indexes = Vec::new();
    for (table, definition, constraint, constraint_definition) in indexes {
        match (constraint, constraint_definition) {
            (Some(name), Some(definition)) => ddl.push_str(&format!(
                " ALTER TABLE {schema}.{table} ADD CONSTRAINT {name} {definition};"
            )),
            _ => {
                let live = format!(" ON read.{table} ");
                if definition.matches(&live).count() != 1 {
                    // Not a shape we can retarget: build it with the table instead.
                    ddl.push_str(&format!(
                        " {};",
                        definition.replacen(" ON read.", &format!(" ON {schema}."), 1)
                    ));
                    continue;
                }
                deferred_indexes.push(definition.replacen(
                    &live,
                    &format!(" ON {schema}.{table} "),
                    1,
                ));
            }
        }
    }
    ddl.push_str(&format!(
        " SET search_path TO {schema}; SET synchronous_commit TO off; \
         SET maintenance_work_mem TO '256MB';"
    ));
    sqlx::raw_sql(&ddl).execute(conn).await?;
    Ok(Shadow {
        schema,
        tables: tables.to_vec(),
        deferred_indexes,
    })
}

/// Builds the deferred indexes and gathers the planner's statistics, so the tables serve queries
/// well from the moment they are swapped in.
pub(super) async fn finish(conn: &mut PgConnection, shadow: &Shadow) -> sqlx::Result<()> {
    for index in &shadow.deferred_indexes {
        sqlx::raw_sql(index).execute(&mut *conn).await?;
    }
    for table in &shadow.tables {
        sqlx::raw_sql(&format!("ANALYZE {}.{table}", shadow.schema))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Drops the shadow schema, after a failed rebuild.
pub(super) async fn drop(conn: &mut PgConnection, schema: &str) {
    let dropped = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(conn)
        .await;
    if let Err(error) = dropped {
        tracing::warn!(%error, schema, "failed to drop a failed rebuild's tables");
    }
}
