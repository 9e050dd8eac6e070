//! Full-text search: the FTS5 table `search_index`, kept in step by
//! `search_sync.rs`.

use super::db;
use std::sync::LazyLock;

use dossier_sdk::{CaseNumber, CustomerId};
use rusqlite::{OptionalExtension, params};

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

/// A search whose words match at most this many index rows ranks them
/// all by bm25; with more, it ranks the newest this many (see
/// `SearchTx::search` for the viewer's part).
pub const RANKED_ALL: u32 = 2_000;

/// A search whose words match more index rows than this ranks nothing:
/// it shows the newest matches first.
///
/// Why: bm25 weighs each word by how many rows hold it, and FTS5 counts
/// that by reading the word's whole list of rows on every search (about
/// 30 ms for a word in 800,000 rows), and ranking every match reads every
/// match's statistics (a second for a word in 100,000 rows). Finding the
/// newest matches walks the list from its end and stops.
pub const RANKED_AT_MOST: u32 = 20_000;

/// The conditions every search statement applies after `MATCH ?1`: the
/// viewer (`?2` all, `?3` login) and the filter (`?4` status, `?5`
/// customer, `?6` owner, `?7` group, `?8` cases only).
fn conditions() -> String {
    format!(
        "search_index MATCH ?1
           AND (search_index.case_number IS NULL OR {})
           AND (?4 IS NULL OR cases.status = ?4)
           AND (?5 IS NULL OR search_index.customer_id = ?5)
           AND (?6 IS NULL OR cases.owner = ?6)
           AND (?7 IS NULL OR cases.grp = ?7)
           AND (NOT ?8 OR search_index.case_number IS NOT NULL)",
        super::cases::visible(2, 3)
    )
}

/// The rowid of the match `OFFSET ?2` from the newest, whoever may see
/// it: with [`RANKED_AT_MOST`], a row means the words are too common to
/// rank; with [`RANKED_ALL`] − 1, it is where the window of the newest
/// matches starts. No join: it reads only the words' lists.
pub const MATCH_PROBE: &str = "SELECT rowid FROM search_index WHERE search_index MATCH ?1
     ORDER BY rowid DESC LIMIT 1 OFFSET ?2";

/// The rowid of the [`RANKED_ALL`]th newest match the viewer may see and
/// the filter keeps (`OFFSET ?9` = [`RANKED_ALL`] − 1); none when there are
/// fewer. Run only when the window of [`MATCH_PROBE`] held fewer visible
/// matches than were asked for: it reads each match's case.
pub static VISIBLE_WINDOW_PROBE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT search_index.rowid
         FROM search_index LEFT JOIN cases ON cases.number = search_index.case_number
         WHERE {}
         ORDER BY search_index.rowid DESC LIMIT 1 OFFSET ?9",
        conditions()
    )
});

/// The ranked search: the matches from rowid `?10` on (the window's first
/// row, or 0 for all), best first. It sorts by `rank` (bm25 by default),
/// not by `bm25(search_index)`: FTS5 then ranks the matches itself and
/// hands them over best first, so the case join, the conditions and the
/// snippet run only on the rows read until `LIMIT ?9` is reached; and FTS5
/// takes the rowid bound into its own reading, so only the window's rows
/// are ranked.
pub static RANKED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT search_index.kind, search_index.ref, search_index.case_number,
                search_index.customer_id,
                snippet(search_index, 0, '[', ']', '…', 12), rank
         FROM search_index LEFT JOIN cases ON cases.number = search_index.case_number
         WHERE {} AND search_index.rowid >= ?10
         ORDER BY rank LIMIT ?9",
        conditions()
    )
});

/// The search of words too common to rank: the newest matches first
/// (rank 0).
pub static NEWEST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT search_index.kind, search_index.ref, search_index.case_number,
                search_index.customer_id,
                snippet(search_index, 0, '[', ']', '…', 12), 0.0
         FROM search_index LEFT JOIN cases ON cases.number = search_index.case_number
         WHERE {}
         ORDER BY search_index.rowid DESC LIMIT ?9",
        conditions()
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
        let expression = match_expression(terms);
        let probe = |offset: u32| -> Result<Option<i64>> {
            conn.prepare_cached(MATCH_PROBE)
                .map_err(db)?
                .query_row(params![expression, offset], |r| r.get(0))
                .optional()
                .map_err(db)
        };
        let too_common = probe(RANKED_AT_MOST)?.is_some();
        let customer = filter.customer.map(|c| c.0);
        // ?1 to ?8, the same for every statement; ?9 (and ?10) follow.
        let base: [&dyn rusqlite::ToSql; 8] = [
            &expression,
            &all,
            &login,
            &filter.status,
            &customer,
            &filter.owner,
            &filter.group,
            &case_filter,
        ];
        let hit = |r: &rusqlite::Row<'_>| {
            Ok(SearchHit {
                kind: r.get(0)?,
                id: r.get(1)?,
                case_number: r.get::<_, Option<i64>>(2)?.map(CaseNumber),
                customer: r.get::<_, Option<i64>>(3)?.map(CustomerId),
                snippet: r.get(4)?,
                rank: r.get(5)?,
            })
        };
        if too_common {
            let mut stmt = conn.prepare_cached(&NEWEST).map_err(db)?;
            let hits = stmt
                .query_map(&[&base[..], &[&limit]].concat()[..], hit)
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)?;
            return Ok(hits);
        }
        let ranked = |first: i64| -> Result<Vec<SearchHit>> {
            conn.prepare_cached(&RANKED)
                .map_err(db)?
                .query_map(&[&base[..], &[&limit, &first]].concat()[..], hit)
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)
        };
        let Some(first) = probe(RANKED_ALL - 1)? else {
            return ranked(0);
        };
        let hits = ranked(first)?;
        if hits.len() >= limit as usize {
            return Ok(hits);
        }
        // The window's newest matches are mostly not the viewer's (or not
        // the filter's): rank the newest ones that are.
        let offset = RANKED_ALL - 1;
        let first: i64 = conn
            .prepare_cached(&VISIBLE_WINDOW_PROBE)
            .map_err(db)?
            .query_row(&[&base[..], &[&offset]].concat()[..], |r| r.get(0))
            .optional()
            .map_err(db)?
            .unwrap_or(0);
        let hits = ranked(first)?;
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
                    .prepare(&format!("EXPLAIN QUERY PLAN {}", *RANKED))
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
                            20,
                            0
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

    /// ARCHITECTURE.md: the visibility condition and the filter apply in
    /// every statement that returns rows or draws a window over them; only
    /// the match probe, which returns a rowid the caller never shows, reads
    /// the words' lists alone.
    #[test]
    fn every_statement_that_returns_or_windows_rows_applies_the_viewer_and_the_filter() {
        let conditions = conditions();
        for (name, sql) in [
            ("RANKED", RANKED.as_str()),
            ("NEWEST", NEWEST.as_str()),
            ("VISIBLE_WINDOW_PROBE", VISIBLE_WINDOW_PROBE.as_str()),
        ] {
            assert!(
                sql.contains(&conditions),
                "{name} lacks the conditions:\n{sql}"
            );
        }
        assert!(!MATCH_PROBE.contains("snippet") && MATCH_PROBE.starts_with("SELECT rowid "));
    }

    /// An in-memory store whose index holds `rows` (rowid, text), each a
    /// note outside any case (so every viewer may see it).
    fn index_of(rows: impl IntoIterator<Item = (i64, String)>) -> SqliteStore {
        let store = SqliteStore::in_memory().expect("store");
        store
            .read(|conn| {
                let mut insert = conn
                    .prepare(
                        "INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
                         VALUES (?1, ?2, 'follow_up', ?1, NULL, NULL)",
                    )
                    .map_err(db)?;
                for (rowid, text) in rows {
                    insert.execute(params![rowid, text]).map_err(db)?;
                }
                Ok(())
            })
            .expect("index rows");
        store
    }

    fn search(store: &SqliteStore, words: &str, viewer: &Viewer) -> Vec<SearchHit> {
        let terms: Vec<String> = words.split(' ').map(str::to_owned).collect();
        store
            .read(|conn| SqliteTx::on(conn).search(&terms, &SearchFilter::default(), viewer, 5))
            .expect("search")
    }

    /// Filler text holding `word` once among other words.
    fn filler(word: &str) -> String {
        format!("{word} alpha beta gamma delta epsilon zeta eta theta iota kappa lambda")
    }

    #[test]
    fn a_word_in_few_rows_ranks_every_match_best_first() {
        let mut rows: Vec<(i64, String)> = (1..=500).map(|i| (i, filler("printer"))).collect();
        // The oldest row holds the word three times in a short text.
        rows[0].1 = "printer printer printer".to_owned();
        let store = index_of(rows);
        let hits = search(&store, "printer", &Viewer::All);
        assert_eq!(hits[0].id, 1, "{hits:?}");
        assert!(hits.iter().all(|h| h.rank < 0.0), "{hits:?}");
    }

    #[test]
    fn a_word_in_more_rows_than_ranked_all_ranks_only_the_newest() {
        let n = i64::from(RANKED_ALL) + 500;
        let mut rows: Vec<(i64, String)> = (1..=n).map(|i| (i, filler("printer"))).collect();
        // The best match of all is older than the newest RANKED_ALL; the
        // best of the window is the newest but one.
        rows[0].1 = "printer printer printer".to_owned();
        rows[(n - 2) as usize].1 = "printer printer".to_owned();
        let store = index_of(rows);
        let hits = search(&store, "printer", &Viewer::All);
        assert_eq!(hits[0].id, n - 1, "{hits:?}");
        assert!(
            hits.iter().all(|h| h.id > n - i64::from(RANKED_ALL)),
            "{hits:?}"
        );
        assert!(hits.iter().all(|h| h.rank < 0.0), "{hits:?}");
    }

    #[test]
    fn a_word_in_more_rows_than_ranked_at_most_comes_newest_first_unranked() {
        let n = i64::from(RANKED_AT_MOST) + 1;
        let mut rows: Vec<(i64, String)> = (1..=n).map(|i| (i, filler("printer"))).collect();
        rows[(n - 3) as usize].1 = "printer printer printer".to_owned();
        let store = index_of(rows);
        let hits = search(&store, "printer", &Viewer::All);
        let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        assert_eq!(ids, [n, n - 1, n - 2, n - 3, n - 4]);
        assert!(hits.iter().all(|h| h.rank == 0.0), "{hits:?}");
        // One row fewer, and it is ranked again (the window of the newest).
        let store = index_of((1..n).map(|i| {
            let text = if i == n - 3 {
                "printer printer printer".to_owned()
            } else {
                filler("printer")
            };
            (i, text)
        }));
        assert_eq!(search(&store, "printer", &Viewer::All)[0].id, n - 3);
    }

    #[test]
    fn the_window_counts_only_what_the_viewer_may_see() {
        let store = SqliteStore::in_memory().expect("store");
        // Of the newest RANKED_ALL matches, alice may see 3: fewer than the
        // 5 asked for.
        let hidden = i64::from(RANKED_ALL) - 3;
        store
            .read(|conn| {
                conn.execute_batch(
                    "INSERT INTO customers (id, account, name, address, custom, created_at, updated_at)
                     VALUES (1, 'AC-1', 'Ada', '{}', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
                     INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                                        visibility, severity, priority, owner, grp, custom,
                                        created_at, updated_at)
                     VALUES (7, 1, 's', 'd', 'open', 1, 'private', 'minor', 'normal', 'bob', NULL,
                             '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
                )
                .map_err(db)?;
                let mut insert = conn
                    .prepare(
                        "INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
                         VALUES (?1, ?2, 'follow_up', ?1, ?3, NULL)",
                    )
                    .map_err(db)?;
                let visible = i64::from(RANKED_ALL);
                for i in 1..=visible + hidden {
                    // The newest `hidden` rows are in bob's private case.
                    let case = (i > visible).then_some(7);
                    let text = if i == 1 { "printer printer printer".to_owned() } else { filler("printer") };
                    insert.execute(params![i, text, case]).map_err(db)?;
                }
                Ok(())
            })
            .expect("rows");
        // So alice's window is the newest RANKED_ALL she may see: all of
        // hers, the oldest (the best) first; bob's is the newest RANKED_ALL.
        let alice = search(&store, "printer", &Viewer::Agent("alice".into()));
        assert_eq!(alice[0].id, 1, "{alice:?}");
        assert!(alice.iter().all(|h| h.case_number.is_none()), "{alice:?}");
        let bob = search(&store, "printer", &Viewer::Agent("bob".into()));
        assert!(bob.iter().all(|h| h.id > hidden), "{bob:?}");
    }
}
