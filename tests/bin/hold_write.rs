//! Test helper: holds a write transaction on a SQLite file, from another
//! process, until its standard input closes.
//!
//! `hold-write DB` opens DB, takes the write lock (`BEGIN IMMEDIATE`),
//! writes a row it never commits, prints `held` and waits; when stdin
//! closes it rolls back and exits. Tests use it to show which commands
//! never wait for a writer.

#![forbid(unsafe_code)]

use std::io::{Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: hold-write DB")?;
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO field_defs (object, name, type) VALUES ('customer', 'held_by_test', 'text');",
    )?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "held")?;
    stdout.flush()?;
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    conn.execute_batch("ROLLBACK")?;
    Ok(())
}
