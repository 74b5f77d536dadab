//! The domain's words (`flux::vocabulary`) as text columns: rows carry the enums, statements
//! bind them, and a stored word this binary does not know is a decoding error naming it
//! ([`super::Error::Decode`]), never a silent default.
//!
//! The columns' `CHECK` constraints in `sql/` list the same words; a test below keeps them
//! in step.

use std::error::Error as StdError;

use bytes::BytesMut;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::{Error, Result};
use crate::flux::{ChangeOp, ClusterState, EdgeType, EventType, Health, KindStatus};

/// Column `idx` of `row` as a `T`; a value `T` cannot hold is [`Error::Decode`].
pub(crate) fn column<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(Error::Decode)
}

/// `ToSql`/`FromSql` through the word (`as_str` / `FromStr`), for every text type.
macro_rules! text_column {
    ($($t:ty),+ $(,)?) => {$(
        impl<'a> FromSql<'a> for $t {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
                let word = <&str as FromSql>::from_sql(ty, raw)?;
                Ok(word.parse::<$t>()?)
            }

            fn accepts(ty: &Type) -> bool {
                <&str as FromSql>::accepts(ty)
            }
        }

        impl ToSql for $t {
            fn to_sql(
                &self,
                ty: &Type,
                out: &mut BytesMut,
            ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &Type) -> bool {
                <&str as ToSql>::accepts(ty)
            }

            to_sql_checked!();
        }
    )+};
}

text_column!(
    Health,
    ClusterState,
    ChangeOp,
    KindStatus,
    EventType,
    EdgeType
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The words a `CHECK (column IN ('a', 'b'))` of `sql` allows, from its last definition.
    fn checked_words(sql: &str, column: &str) -> Vec<String> {
        let pattern = format!("CHECK ({column} IN (");
        let start = sql.rfind(&pattern).expect("the CHECK constraint") + pattern.len();
        let list = &sql[start..start + sql[start..].find(')').expect("its end")];
        list.split(',')
            .map(|w| w.trim().trim_matches('\'').to_string())
            .collect()
    }

    fn words<V: ToString>(all: &[V]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_check_constraints_allow_exactly_the_vocabulary() {
        let resources = include_str!("../../sql/0002_resources.sql");
        assert_eq!(checked_words(resources, "health"), words(Health::ALL));
        assert_eq!(checked_words(resources, "op"), words(ChangeOp::ALL));
        let states = include_str!("../../sql/0009_cluster_states.sql");
        assert_eq!(checked_words(states, "state"), words(ClusterState::ALL));
        let edges = include_str!("../../sql/0011_resource_edges.sql");
        assert_eq!(checked_words(edges, "type"), words(EdgeType::ALL));
        let workloads = include_str!("../../sql/0013_workloads.sql");
        assert_eq!(
            checked_words(workloads, "workload_health"),
            words(Health::ALL)
        );
        let reliability = include_str!("../../sql/0017_reliability.sql");
        assert_eq!(checked_words(reliability, "end_health"), words(Health::ALL));
    }

    #[test]
    fn words_are_written_and_read_as_text() {
        let mut out = BytesMut::new();
        Health::Stalled
            .to_sql(&Type::TEXT, &mut out)
            .expect("to sql");
        assert_eq!(&out[..], b"stalled");
        assert_eq!(
            Health::from_sql(&Type::TEXT, b"stalled").expect("from sql"),
            Health::Stalled
        );
        assert!(<EventType as ToSql>::accepts(&Type::TEXT));
        assert!(!<ChangeOp as FromSql>::accepts(&Type::INT4));
        let refused = ClusterState::from_sql(&Type::TEXT, b"sleeping").unwrap_err();
        assert_eq!(refused.to_string(), "unknown cluster state \"sleeping\"");
    }
}
