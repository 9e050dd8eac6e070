//! Full-text search: the FTS5 table `search_index`, kept in step by
//! `search_sync.rs`.

use super::db;
use std::sync::LazyLock;

use dossier_sdk::{CaseNumber, CustomerId};
use rusqlite::params;

use super::SqliteTx;
use crate::{SearchFilter, SearchHit, SearchTx, Viewer};
use dossier_types::Result;

/// `terms` as an FTS5 query: every term must appear, each quoted so that no
/// input is read as FTS5 syntax (`"` doubled inside a term).
pub fn match_expression(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The search statement. It sorts by `rank` (bm25 by default), not by
/// `bm25(search_index)`: FTS5 then ranks the matches itself and hands them
/// over best first, so the case join, the conditions and the snippet run
/// only on the rows read until `LIMIT` is reached. Sorting by the
/// function's value made SQLite compute every match's snippet and case
/// before keeping the best: two to three times slower for a word in
/// 3,000 to 20,000 rows (`benches/search.rs`).
static SEARCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT search_index.kind, search_index.ref, search_index.case_number,
                search_index.customer_id,
                snippet(search_index, 0, '[', ']', '…', 12), rank
         FROM search_index LEFT JOIN cases ON cases.number = search_index.case_number
         WHERE search_index MATCH ?1
           AND (search_index.case_number IS NULL OR {})
           AND (?4 IS NULL OR cases.status = ?4)
           AND (?5 IS NULL OR search_index.customer_id = ?5)
           AND (?6 IS NULL OR cases.owner = ?6)
           AND (?7 IS NULL OR cases.grp = ?7)
           AND (NOT ?8 OR search_index.case_number IS NOT NULL)
         ORDER BY rank LIMIT ?9",
        super::cases::visible(2, 3)
    )
});

impl SearchTx for SqliteTx<'_> {
    fn search(
        &self,
        terms: &[String],
        filter: &SearchFilter,
        viewer: &Viewer,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        let conn = self.conn;
        // Inside a write, the index first takes in what the write changed.
        if !conn.is_autocommit() && !conn.is_readonly(rusqlite::MAIN_DB).map_err(db)? {
            super::search_sync::sync(conn)?;
        }
        let case_filter =
            filter.status.is_some() || filter.owner.is_some() || filter.group.is_some();
        let (all, login) = viewer.params();
        let mut stmt = conn.prepare_cached(&SEARCH).map_err(db)?;
        let hits = stmt
            .query_map(
                params![
                    match_expression(terms),
                    all,
                    login,
                    filter.status,
                    filter.customer.map(|c| c.0),
                    filter.owner,
                    filter.group,
                    case_filter,
                    limit
                ],
                |r| {
                    Ok(SearchHit {
                        kind: r.get(0)?,
                        id: r.get(1)?,
                        case_number: r.get::<_, Option<i64>>(2)?.map(CaseNumber),
                        customer: r.get::<_, Option<i64>>(3)?.map(CustomerId),
                        snippet: r.get(4)?,
                        rank: r.get(5)?,
                    })
                },
            )
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::SqliteStore;

    #[test]
    fn the_search_leaves_ranking_to_fts5_and_sorts_nothing_itself() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .read(|conn| {
                let plan: Vec<String> = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {}", *SEARCH))
                    .map_err(db)?
                    .query_map(
                        params![
                            "\"x\"",
                            false,
                            "alice",
                            None::<String>,
                            None::<i64>,
                            None::<String>,
                            None::<String>,
                            false,
                            20
                        ],
                        |r| r.get::<_, String>(3),
                    )
                    .map_err(db)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db)?;
                // A temporary B-tree for the ORDER BY would mean SQLite
                // computes every match's snippet and case before sorting.
                assert!(
                    !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                    "{plan:#?}"
                );
                assert!(
                    plan.iter()
                        .any(|step| step.starts_with("SCAN search_index")),
                    "{plan:#?}"
                );
                Ok(())
            })
            .expect("plan");
    }
}
