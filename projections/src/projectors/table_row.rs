//! A read-model row declared once: [`table_row!`] takes a plain struct (its fields are the table's
//! columns, in order) and the table's name and key, and derives from that one list everything that
//! must agree with it: `sqlx::FromRow`, the column list of the `SELECT`, the `UNNEST` upsert (one
//! array per column, each cast to its field's PostgreSQL array type, bound in the same order) and
//! the delete by key. A column added, removed or reordered cannot leave one of them behind.
//!
//! The statements are built once per row type, from [`TableRow`]'s constants and the fields' sqlx
//! types, and reused for every batch.

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{Postgres, postgres::PgRow};
use uuid::Uuid;

/// A query being bound.
pub(crate) type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// A row of a read-model table, implemented by [`table_row!`].
///
/// Rows are loaded and folded by *group*: the rows that share the key's first column, an
/// aggregate's id (one tenant's panel row, or its steps).
pub(crate) trait TableRow:
    for<'r> sqlx::FromRow<'r, PgRow> + Clone + PartialEq + Send + Sync + Unpin + 'static
{
    /// The table, unqualified (see [`Projector`](crate::Projector) on table names).
    const TABLE: &'static str;
    /// [`TableRow::TABLE`] alone, as [`Projector::tables`](crate::Projector::tables) lists it.
    const TABLES: &'static [&'static str];
    /// The columns, in the struct's (and the table's) order.
    const COLUMNS: &'static [&'static str];
    /// The primary key's columns; the first is the group.
    const KEY: &'static [&'static str];

    /// The PostgreSQL array type of each column, in [`TableRow::COLUMNS`]' order (`UUID[]`).
    fn array_types() -> Vec<String>;

    /// This type's statements, built once.
    fn statements() -> &'static Statements;

    /// The value of the group column.
    fn group(&self) -> Uuid;

    /// Whether `self` and `other` have the same primary key.
    fn same_key(&self, other: &Self) -> bool;

    /// Binds `rows` to [`Statements::upsert`], one array per column.
    fn bind_rows(rows: Vec<Self>, query: PgQuery<'_>) -> PgQuery<'_>;

    /// Binds the keys of `rows` to [`Statements::delete`], one array per key column.
    fn bind_keys<'q>(rows: &[Self], query: PgQuery<'q>) -> PgQuery<'q>;
}

/// The SQL a folding projector runs on a [`TableRow`]'s table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Statements {
    /// Every row of the groups in `$1` (a `UUID[]`).
    pub(crate) select: String,
    /// Inserts or replaces rows, one array parameter per column.
    pub(crate) upsert: String,
    /// Deletes rows by key, one array parameter per key column.
    pub(crate) delete: String,
}

impl Statements {
    pub(crate) fn new<R: TableRow>() -> Self {
        let types = R::array_types();
        let table = R::TABLE;
        let columns = R::COLUMNS.join(", ");
        let key = R::KEY.join(", ");
        let arrays = |names: &[&str]| {
            names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let column = R::COLUMNS.iter().position(|c| c == name);
                    let column = column.expect("a key column is a column");
                    format!("${}::{}", i + 1, types[column])
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let updates = R::COLUMNS
            .iter()
            .filter(|c| !R::KEY.contains(c))
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect::<Vec<_>>();
        let on_conflict = if updates.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            format!("DO UPDATE SET {}", updates.join(", "))
        };
        Self {
            select: format!(
                "SELECT {columns} FROM {table} WHERE {} = ANY($1)",
                R::KEY[0]
            ),
            upsert: format!(
                "INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({}) \
                 ON CONFLICT ({key}) {on_conflict}",
                arrays(R::COLUMNS)
            ),
            delete: format!(
                "DELETE FROM {table} WHERE ({key}) IN (SELECT * FROM UNNEST({}))",
                arrays(R::KEY)
            ),
        }
    }
}

/// Declares a read-model row and implements [`TableRow`] for it:
///
/// ```ignore
/// table_row! {
///     #[derive(Debug, Clone, PartialEq)]
///     pub(super) struct StepRow in "provisioning_steps", key (tenant_id, step) {
///         pub(super) tenant_id: Uuid,
///         pub(super) step: String,
///         pub(super) status: String,
///     }
/// }
/// ```
///
/// The struct is written as usual; its fields are the columns. The key's first column is the
/// group and must be a `Uuid`. Each field's type must have an sqlx PostgreSQL array type.
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $row:ident in $table:literal, key ($group:ident $(, $key:ident)* $(,)?) {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $type:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $row {
            $($(#[$field_meta])* $field_vis $field: $type,)+
        }

        impl $crate::projectors::table_row::TableRow for $row {
            const TABLE: &'static str = $table;
            const TABLES: &'static [&'static str] = &[$table];
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            const KEY: &'static [&'static str] = &[stringify!($group) $(, stringify!($key))*];

            fn array_types() -> Vec<String> {
                vec![$(
                    <Vec<$type> as sqlx::Type<sqlx::Postgres>>::type_info().to_string()
                ),+]
            }

            fn statements() -> &'static $crate::projectors::table_row::Statements {
                static STATEMENTS: std::sync::LazyLock<$crate::projectors::table_row::Statements> =
                    std::sync::LazyLock::new($crate::projectors::table_row::Statements::new::<$row>);
                &STATEMENTS
            }

            fn group(&self) -> uuid::Uuid {
                self.$group
            }

            fn same_key(&self, other: &Self) -> bool {
                self.$group == other.$group $(&& self.$key == other.$key)*
            }

            fn bind_rows(
                rows: Vec<Self>,
                query: $crate::projectors::table_row::PgQuery<'_>,
            ) -> $crate::projectors::table_row::PgQuery<'_> {
                $(let mut $field: Vec<$type> = Vec::with_capacity(rows.len());)+
                for row in rows {
                    $($field.push(row.$field);)+
                }
                query $(.bind($field))+
            }

            fn bind_keys<'q>(
                rows: &[Self],
                query: $crate::projectors::table_row::PgQuery<'q>,
            ) -> $crate::projectors::table_row::PgQuery<'q> {
                let $group: Vec<uuid::Uuid> = rows.iter().map(|row| row.$group).collect();
                $(let $key: Vec<_> = rows.iter().map(|row| row.$key.clone()).collect();)*
                query.bind($group) $(.bind($key))*
            }
        }
    };
}

pub(crate) use table_row;

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use sqlx::types::Json;
    use uuid::Uuid;

    use super::{Statements, TableRow};

    table_row! {
        #[derive(Debug, Clone, PartialEq)]
        struct Sample in "samples", key (owner, label) {
            owner: Uuid,
            label: String,
            count: i32,
            seen_at: Option<DateTime<Utc>>,
            tags: Json<Vec<String>>,
        }
    }

    table_row! {
        #[derive(Debug, Clone, PartialEq)]
        struct KeyOnly in "pairs", key (left, right) {
            left: Uuid,
            right: i64,
        }
    }

    #[test]
    fn the_statements_list_every_column_once_in_order_with_its_type() {
        assert_eq!(
            *Sample::statements(),
            Statements {
                select: "SELECT owner, label, count, seen_at, tags FROM samples \
                         WHERE owner = ANY($1)"
                    .into(),
                upsert: "INSERT INTO samples (owner, label, count, seen_at, tags) SELECT * FROM \
                         UNNEST($1::UUID[], $2::TEXT[], $3::INT4[], $4::TIMESTAMPTZ[], \
                         $5::JSONB[]) ON CONFLICT (owner, label) DO UPDATE SET \
                         count = EXCLUDED.count, seen_at = EXCLUDED.seen_at, tags = EXCLUDED.tags"
                    .into(),
                delete: "DELETE FROM samples WHERE (owner, label) IN \
                         (SELECT * FROM UNNEST($1::UUID[], $2::TEXT[]))"
                    .into(),
            }
        );
    }

    #[test]
    fn a_table_of_keys_only_keeps_what_it_has_on_conflict() {
        assert!(
            KeyOnly::statements()
                .upsert
                .ends_with("ON CONFLICT (left, right) DO NOTHING")
        );
    }

    #[test]
    fn rows_are_told_apart_by_their_whole_key() {
        let owner = Uuid::now_v7();
        let row = |label: &str, count| Sample {
            owner,
            label: label.into(),
            count,
            seen_at: None,
            tags: Json(vec![]),
        };
        assert_eq!(row("a", 1).group(), owner);
        assert!(row("a", 1).same_key(&row("a", 2)));
        assert!(!row("a", 1).same_key(&row("b", 1)));
        assert!(!row("a", 1).same_key(&Sample {
            owner: Uuid::now_v7(),
            ..row("a", 1)
        }));
    }
}
