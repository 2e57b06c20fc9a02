// One portal per database. Before a portal touches its state (marking jobs interrupted, starting jobs) it takes
// an exclusive SQLite lock on a small side file, `<db>.instance` (locking_mode EXCLUSIVE plus a write: held until
// the connection closes). The operating system drops the lock when the process dies, so a crashed portal never
// leaves a stale lock behind and no pid can be mistaken for a live one; a second portal — in another process or
// this one — finds the lock taken and refuses to start, naming the holder (from `<db>.instance.json`, which the
// holder writes after taking the lock).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Database from "better-sqlite3";

export class InstanceLockError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InstanceLockError";
    }
}

export interface InstanceHolder {
    pid: number;
    host: string;
    since: string;
}

export class InstanceLock {
    private constructor(
        private readonly db: Database.Database,
        readonly file: string,
        private readonly infoFile: string,
    ) {}

    /** Takes the lock of `dbFile`'s state or throws InstanceLockError saying who holds it. */
    static acquire(dbFile: string): InstanceLock {
        const file = `${dbFile}.instance`;
        const infoFile = `${file}.json`;
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.closeSync(fs.openSync(file, "a", 0o600));
        const db = new Database(file, { timeout: 0 });
        try {
            db.pragma("locking_mode = EXCLUSIVE");
            db.pragma("journal_mode = DELETE");
            db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)");
            db.exec("BEGIN EXCLUSIVE");
            db.exec("DELETE FROM holder");
            db.prepare("INSERT INTO holder (pid, host, since) VALUES (?, ?, ?)").run(process.pid, os.hostname(), new Date().toISOString());
            db.exec("COMMIT"); // in EXCLUSIVE locking mode the lock stays after the commit, until close
        } catch (err) {
            db.close();
            if ((err as { code?: string }).code === "SQLITE_BUSY" || (err as { code?: string }).code === "SQLITE_LOCKED") {
                const h = readHolder(infoFile);
                const who = h ? `pid ${h.pid} on ${h.host}, since ${h.since}` : "another process";
                throw new InstanceLockError(
                    `another portal instance (${who}) is using the state in ${dbFile}: only one portal may run on a database, ` +
                        `or two would run operations on the same stack and rewrite each other's jobs. Stop that instance first, or start this one with its own BYOC_PORTAL_DB`,
                );
            }
            throw err;
        }
        const holder: InstanceHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
        try {
            fs.writeFileSync(infoFile, JSON.stringify(holder) + "\n", { mode: 0o600 });
        } catch {
            // informational only: the lock itself is what counts
        }
        return new InstanceLock(db, file, infoFile);
    }

    release(): void {
        if (!this.db.open) return;
        try {
            const h = readHolder(this.infoFile);
            if (h && h.pid === process.pid) fs.rmSync(this.infoFile, { force: true });
        } catch {
            // nothing to tidy
        }
        this.db.close();
    }
}

function readHolder(file: string): InstanceHolder | undefined {
    try {
        const h = JSON.parse(fs.readFileSync(file, "utf8")) as InstanceHolder;
        return typeof h.pid === "number" ? h : undefined;
    } catch {
        return undefined;
    }
}
