/* The least a command that keeps state in SQLite costs: open the database, make sure of a table,
 * commit one row. Beside floor-exec in the guest benchmark: what qpci's journal cannot undercut. */
#include <sqlite3.h>
#include <stdio.h>

int main(int argc, char **argv) {
        sqlite3 *db = NULL;
        char *err = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: floor-sqlite DATABASE\n");
                return 2;
        }
        r = sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if (r == SQLITE_OK)
                r = sqlite3_exec(db,
                                 "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v TEXT);"
                                 "BEGIN IMMEDIATE; INSERT OR REPLACE INTO t VALUES('0000:00:1a.0', 'uhci_hcd'); COMMIT;",
                                 NULL, NULL, &err);
        if (r != SQLITE_OK)
                fprintf(stderr, "floor-sqlite: %s: %s\n", argv[1], err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        sqlite3_close(db);
        return r == SQLITE_OK ? 0 : 1;
}
