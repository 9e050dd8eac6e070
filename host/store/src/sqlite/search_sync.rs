//! Keeping `search_index` in step with the records it indexes.
//!
//! Triggers (migration 13) do not write the index: each insert or change of
//! a case, follow-up, customer or customer email only notes the record in
//! `search_dirty` (kind 1 case, 2 follow-up, 3 customer, as in the index's
//! rowids), once per record however many of its rows change. [`sync`]
//! rewrites the noted records' index rows from what they hold now and
//! empties the table. The store calls it in the write transaction just
//! before the outermost commit, before a search made inside a write, and
//! after migrating; so the index is exact at every commit, and a write
//! rolled back (whole or to a savepoint) takes its notes with it.
//!
//! Why not write the index in the triggers: a customer with two email
//! addresses rewrote its row three times, and FTS5 writes its pending terms
//! to disk as a new segment at every statement savepoint (each statement
//! whose triggers write, each imported row's savepoint), which it then has
//! to merge. Written here, a batch of 500 customers is one statement and
//! one segment.

use super::db;
use rusqlite::Connection;

use dossier_types::Result;

/// Whether any record waits to be indexed.
const PENDING: &str = "SELECT EXISTS (SELECT 1 FROM search_dirty)";

/// The index rows of the noted records that still exist and whose rowid
/// `$cond` (on `d`, the note) accepts, in rowid order: FTS5 writes its
/// pending terms out whenever a row's rowid is lower than the last one's,
/// so rows in order make one segment.
///
/// A customer's text is its name, account and email addresses (in their
/// order); a case's its subject and description; a follow-up's its body,
/// with the customer of its case.
macro_rules! noted_rows {
    ($cond:literal) => {
        concat!(
            "SELECT c.number * 4 + 1, c.subject || ' ' || c.description, 'case',
                    c.number, c.number, c.customer_id
             FROM search_dirty d JOIN cases c ON c.number = d.id WHERE d.kind = 1 AND ",
            $cond,
            " UNION ALL
             SELECT f.id * 4 + 2, f.body, 'follow_up', f.id, f.case_number,
                    (SELECT customer_id FROM cases WHERE number = f.case_number)
             FROM search_dirty d JOIN follow_ups f ON f.id = d.id WHERE d.kind = 2 AND ",
            $cond,
            " UNION ALL
             SELECT c.id * 4 + 3, c.name || ' ' || c.account || coalesce(' ' || (
                        SELECT group_concat(address, ' ') FROM (SELECT address FROM customer_emails
                            WHERE customer_id = c.id ORDER BY position)), ''),
                    'customer', c.id, NULL, c.id
             FROM search_dirty d JOIN customers c ON c.id = d.id WHERE d.kind = 3 AND ",
            $cond,
            " ORDER BY 1"
        )
    };
}

/// The statements [`sync`] runs, in order: drop the rows of records that
/// are gone; rewrite the rows the index has (FTS5's `REPLACE` deletes the
/// old terms first); add the rows it has not, with a plain insert (a
/// `REPLACE` of a row that is not there still costs a delete); forget the
/// notes. Whether the index has a row is a lookup in its content table.
pub const SYNC: [&str; 4] = [
    "DELETE FROM search_index WHERE rowid IN (
         SELECT d.id * 4 + d.kind FROM search_dirty d
         WHERE CASE d.kind
             WHEN 1 THEN NOT EXISTS (SELECT 1 FROM cases WHERE number = d.id)
             WHEN 2 THEN NOT EXISTS (SELECT 1 FROM follow_ups WHERE id = d.id)
             ELSE NOT EXISTS (SELECT 1 FROM customers WHERE id = d.id)
         END)",
    concat!(
        "INSERT OR REPLACE INTO search_index (rowid, text, kind, ref, case_number, customer_id) ",
        noted_rows!("EXISTS (SELECT 1 FROM search_index_content WHERE id = d.id * 4 + d.kind)")
    ),
    concat!(
        "INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id) ",
        noted_rows!("NOT EXISTS (SELECT 1 FROM search_index_content WHERE id = d.id * 4 + d.kind)")
    ),
    "DELETE FROM search_dirty",
];

/// Brings `search_index` up to date with the records noted in
/// `search_dirty`, inside the caller's write transaction. Costs one read
/// when nothing changed.
pub fn sync(conn: &Connection) -> Result<()> {
    let pending: bool = conn
        .prepare_cached(PENDING)
        .map_err(db)?
        .query_row([], |r| r.get(0))
        .map_err(db)?;
    if pending {
        for sql in SYNC {
            conn.prepare_cached(sql)
                .map_err(db)?
                .execute([])
                .map_err(db)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sqlite::db;
    use rusqlite::Connection;

    use super::super::SqliteStore;
    use crate::Store;
    use dossier_types::Result;

    /// Every index row: rowid, text, kind, ref, case number, customer.
    type IndexRow = (i64, String, String, i64, Option<i64>, Option<i64>);

    fn index(conn: &Connection) -> Vec<IndexRow> {
        conn.prepare(
            "SELECT rowid, text, kind, ref, case_number, customer_id FROM search_index ORDER BY rowid",
        )
        .expect("query")
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    }

    /// The rowids the index finds for `term`.
    fn hits(conn: &Connection, term: &str) -> Vec<i64> {
        conn.prepare("SELECT rowid FROM search_index WHERE search_index MATCH ?1 ORDER BY rowid")
            .expect("query")
            .query_map([format!("\"{term}\"")], |r| r.get(0))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn notes(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM search_dirty", [], |r| r.get(0))
            .expect("count")
    }

    fn write(store: &SqliteStore, sql: &str) {
        store
            .write_as("test", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                conn.execute_batch(sql).map_err(db)?;
                Ok(())
            })
            .expect("write");
    }

    fn with_conn<T>(store: &SqliteStore, f: impl FnOnce(&Connection) -> T) -> T {
        let writer = store.writer.lock();
        f(&writer.conn)
    }

    const ADA: &str = "INSERT INTO customers (id, account, name, created_at, updated_at)
             VALUES (1, 'AC-1', 'Ada Lovelace', 't', 't');
         INSERT INTO customer_emails VALUES (1, 0, 'work', 'ada@engine.example');
         INSERT INTO customer_emails VALUES (1, 1, 'home', 'ada@home.example');
         INSERT INTO customer_emails VALUES (1, 2, 'old', 'countess@old.example');";

    #[test]
    fn a_customer_with_several_emails_gets_one_row_and_an_edit_leaves_nothing_stale() {
        let store = SqliteStore::in_memory().expect("store");
        write(&store, ADA);
        with_conn(&store, |conn| {
            assert_eq!(
                index(conn),
                vec![(
                    7,
                    "Ada Lovelace AC-1 ada@engine.example ada@home.example countess@old.example"
                        .to_owned(),
                    "customer".to_owned(),
                    1,
                    None,
                    Some(1)
                )]
            );
            assert_eq!(notes(conn), 0, "the commit consumed the notes");
        });
        // One address changed, one removed, the name changed.
        write(
            &store,
            "UPDATE customer_emails SET address = 'ada@analytical.example' WHERE position = 1;
             DELETE FROM customer_emails WHERE position = 2;
             UPDATE customers SET name = 'Augusta Ada King' WHERE id = 1;",
        );
        with_conn(&store, |conn| {
            assert_eq!(index(conn).len(), 1);
            assert_eq!(hits(conn, "ada@analytical.example"), vec![7]);
            assert_eq!(hits(conn, "augusta"), vec![7]);
            for stale in ["ada@home.example", "countess@old.example", "lovelace"] {
                assert!(hits(conn, stale).is_empty(), "{stale} is still indexed");
            }
            // The FTS5 index agrees with its content (no missed deletes).
            conn.execute_batch(
                "INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 1)",
            )
            .expect("integrity");
        });
    }

    #[test]
    fn cases_and_follow_ups_are_indexed_and_follow_a_case_moved_to_another_customer() {
        let store = SqliteStore::in_memory().expect("store");
        write(
            &store,
            &format!(
                "{ADA}
                 INSERT INTO customers (id, account, name, created_at, updated_at)
                     VALUES (2, 'AC-2', 'Grace Hopper', 't', 't');
                 INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                     visibility, severity, priority, created_at, updated_at)
                     VALUES (5, 1, 'Printer jams', 'on page two', 'open', 1, 'public', 'minor',
                             'normal', 't', 't');
                 INSERT INTO follow_ups (id, case_number, kind, author, body, created_at)
                     VALUES (3, 5, 'note', 'ann', 'The fuser is worn', 't');"
            ),
        );
        with_conn(&store, |conn| {
            let rows = index(conn);
            assert_eq!(rows.len(), 4, "{rows:?}");
            // In rowid order: the customers (7, 11), the follow-up, the case.
            assert_eq!(
                rows[2],
                (
                    3 * 4 + 2,
                    "The fuser is worn".to_owned(),
                    "follow_up".to_owned(),
                    3,
                    Some(5),
                    Some(1)
                )
            );
            assert_eq!(
                rows[3],
                (
                    5 * 4 + 1,
                    "Printer jams on page two".to_owned(),
                    "case".to_owned(),
                    5,
                    Some(5),
                    Some(1)
                )
            );
        });
        write(&store, "UPDATE cases SET customer_id = 2 WHERE number = 5");
        with_conn(&store, |conn| {
            let customers: Vec<Option<i64>> = index(conn)
                .into_iter()
                .filter(|r| r.4 == Some(5))
                .map(|r| r.5)
                .collect();
            assert_eq!(customers, vec![Some(2), Some(2)]);
        });
        // Gone records leave no rows.
        write(
            &store,
            "DELETE FROM customer_emails WHERE customer_id = 1;
             DELETE FROM customers WHERE id = 1;",
        );
        with_conn(&store, |conn| {
            assert!(hits(conn, "lovelace").is_empty());
            assert_eq!(index(conn).len(), 3);
        });
    }

    #[test]
    fn a_rolled_back_savepoint_takes_its_notes_and_a_search_inside_a_write_sees_it() {
        let store = SqliteStore::in_memory().expect("store");
        store
            .write_as("test", "BEGIN IMMEDIATE", |tx| {
                let conn = tx.conn;
                conn.execute_batch(ADA).map_err(db)?;
                let failed = store.savepoint_with("row", &mut |_| {
                    with_conn(&store, |conn| {
                        conn.execute_batch(
                            "INSERT INTO customers (id, account, name, created_at, updated_at)
                                 VALUES (2, 'AC-2', 'Grace Hopper', 't', 't');",
                        )
                    })
                    .map_err(db)?;
                    Err(dossier_types::Error::Refused("bad row".into()))
                });
                assert!(failed.is_err());
                assert_eq!(notes(conn), 1, "only Ada's note is left");
                // A search on the writer inside the write indexes first.
                let tx = super::super::SqliteTx::on(conn);
                let found = crate::SearchTx::search(
                    &tx,
                    &["lovelace".to_owned()],
                    &Default::default(),
                    &crate::Viewer::All,
                    10,
                )?;
                assert_eq!(found.len(), 1);
                assert_eq!(notes(conn), 0);
                Ok(())
            })
            .expect("write");
        with_conn(&store, |conn| {
            assert!(hits(conn, "hopper").is_empty());
            assert_eq!(hits(conn, "lovelace"), vec![7]);
        });
    }

    #[test]
    fn what_a_raw_writer_leaves_noted_is_indexed_at_the_next_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("dossier.db");
        let store = SqliteStore::open(&path).expect("store");
        // Another connection writing SQL, as an operator's script would.
        let raw = Connection::open(&path).expect("raw");
        raw.execute_batch(ADA).expect("raw rows");
        with_conn(&store, |conn| {
            assert!(hits(conn, "lovelace").is_empty());
            assert_eq!(notes(conn), 1);
        });
        write(&store, "SELECT 1");
        with_conn(&store, |conn| assert_eq!(hits(conn, "lovelace"), vec![7]));
    }

    #[test]
    fn a_store_from_before_the_sync_has_its_index_rebuilt_on_open() -> Result<()> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("dossier.db");
        {
            let conn = Connection::open(&path).map_err(db)?;
            super::super::migrations::run_to(&conn, 12)?;
            conn.execute_batch(&format!(
                "{ADA}
                 INSERT INTO cases (number, customer_id, subject, description, status, is_open,
                     visibility, severity, priority, created_at, updated_at)
                     VALUES (1, 1, 'Printer jams', '', 'open', 1, 'public', 'minor', 'normal',
                             't', 't');
                 INSERT INTO follow_ups (id, case_number, kind, author, body, created_at)
                     VALUES (1, 1, 'note', 'ann', 'The fuser is worn', 't');"
            ))
            .map_err(db)?;
        }
        let store = SqliteStore::open(&path)?;
        with_conn(&store, |conn| {
            assert_eq!(index(conn).len(), 3);
            assert_eq!(hits(conn, "countess@old.example"), vec![7]);
            assert_eq!(hits(conn, "fuser"), vec![6]);
            assert_eq!(hits(conn, "printer"), vec![5]);
            assert_eq!(notes(conn), 0);
            let old: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'
                     AND name IN ('search_email_insert', 'search_customer_insert')",
                    [],
                    |r| r.get(0),
                )
                .expect("triggers");
            assert_eq!(old, 0, "the old triggers are gone");
            let hashsize: i64 = conn
                .query_row(
                    "SELECT v FROM search_index_config WHERE k = 'hashsize'",
                    [],
                    |r| r.get(0),
                )
                .expect("hashsize");
            assert_eq!(hashsize, 32768);
        });
        Ok(())
    }
}
