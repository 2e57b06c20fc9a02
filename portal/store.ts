// The portal's state in SQLite: customers (one per stack), jobs with their logs, access requests and the audit
// trail. Every write that belongs together goes through `tx` so nothing is half-written; the audit table refuses
// UPDATE and DELETE at the database level.
import * as fs from "fs";
import * as path from "path";
import Database from "better-sqlite3";

export type JobKind = "preview" | "up" | "destroy" | "refresh" | "drift";
export type JobState = "queued" | "running" | "succeeded" | "failed" | "interrupted";
export type CustomerStatus = "provisioning" | "deployed" | "failed" | "destroying" | "destroyed";
export type AccessState = "pending" | "approved" | "active" | "expired" | "denied" | "revoked";

export interface CustomerRow {
    id: string;
    environment: string;
    customer_id: string;
    name: string;
    config: string;
    status: CustomerStatus;
    outputs: string | null;
    last_job?: string | null;
    /** The portal's last word on the private API phase (why it stays, what moves it, break-glass); see Portal. */
    api_note?: string | null;
    /** The last drift check's finding, JSON { checkedAt, drifted, changes, job } (null before one); see Portal.driftCheck. */
    drift?: string | null;
    /**
     * When a job saw the customer's account refuse the deploy role (their kill switch; see Portal's vendor access),
     * null otherwise and again once an operator re-enables vendor access.
     */
    vendor_refused_at?: string | null;
    created_by: string;
    created_at: string;
    updated_at: string;
}

export interface JobRow {
    seq: number;
    id: string;
    customer: string;
    kind: JobKind;
    state: JobState;
    outcome: string | null;
    message: string | null;
    requested_by: string;
    reason: string | null;
    config: string | null;
    log: string;
    violations: string | null;
    problems: string | null;
    resource_count: number | null;
    rerun_of: string | null;
    created_at: string;
    started_at: string | null;
    finished_at: string | null;
    /** Times the portal tried to start this job and could not (the store or the engine failed before it ran). */
    start_attempts?: number;
}

export interface AccessRow {
    seq: number;
    id: string;
    customer: string;
    engineer: string;
    reason: string;
    hours: number;
    csr_pem: string;
    state: AccessState;
    decided_by: string | null;
    decided_at: string | null;
    not_after: string | null;
    job_id: string | null;
    certificate_pem: string | null;
    certificate_note: string | null;
    created_at: string;
    updated_at: string;
}

export interface AuditRow {
    seq: number;
    at: string;
    actor: string;
    action: string;
    subject: string;
    details: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    outputs TEXT,
    -- the newest job, kept here so the customer list is one indexed join (see insertJob)
    last_job TEXT,
    api_note TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    customer TEXT NOT NULL REFERENCES customers(id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    message TEXT,
    requested_by TEXT NOT NULL,
    reason TEXT,
    config TEXT,
    log TEXT NOT NULL DEFAULT '',
    violations TEXT,
    problems TEXT,
    resource_count INTEGER,
    rerun_of TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, seq);
CREATE INDEX IF NOT EXISTS jobs_customer ON jobs(customer, seq);
CREATE TABLE IF NOT EXISTS access_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    customer TEXT NOT NULL REFERENCES customers(id),
    engineer TEXT NOT NULL,
    reason TEXT NOT NULL,
    hours INTEGER NOT NULL,
    csr_pem TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    not_after TEXT,
    job_id TEXT,
    certificate_pem TEXT,
    certificate_note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_customer ON access_requests(customer, state);
-- the customer list's filters (status, environment) walk these in id order; the pending sweep and re-run look-ups too
CREATE INDEX IF NOT EXISTS customers_status ON customers(status, id);
CREATE INDEX IF NOT EXISTS customers_environment ON customers(environment, id);
CREATE INDEX IF NOT EXISTS customers_environment_status ON customers(environment, status, id);
CREATE INDEX IF NOT EXISTS access_state ON access_requests(state, created_at);
CREATE INDEX IF NOT EXISTS jobs_rerun ON jobs(rerun_of) WHERE rerun_of IS NOT NULL;
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
`;

// The customer list's text filter (?q=): a trigram full-text index over stack id, customer id and name, kept in
// step with the customers table by triggers (substring match through an index, not a scan of every row).
const CUSTOMER_SEARCH = `
CREATE VIRTUAL TABLE customers_search USING fts5(id, customer_id, name, content='customers', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_search(rowid, id, customer_id, name) VALUES (new.rowid, new.id, new.customer_id, new.name);
END;
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_search(customers_search, rowid, id, customer_id, name) VALUES ('delete', old.rowid, old.id, old.customer_id, old.name);
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF id, customer_id, name ON customers BEGIN
    INSERT INTO customers_search(customers_search, rowid, id, customer_id, name) VALUES ('delete', old.rowid, old.id, old.customer_id, old.name);
    INSERT INTO customers_search(rowid, id, customer_id, name) VALUES (new.rowid, new.id, new.customer_id, new.name);
END;
INSERT INTO customers_search(customers_search) VALUES ('rebuild');
`;

/** A filter and page of the customer list; `after` is the cursor (the last stack id of the previous page). */
export interface CustomerFilter {
    status?: string;
    environment?: string;
    /** Substring of the stack id, customer id or name (case-insensitive). */
    text?: string;
    after?: string;
    limit: number;
}

/** The database file cannot be used (not SQLite, damaged): the portal refuses to start rather than guess. */
export class DatabaseFileError extends Error {}

/** Owner-only: the database, its WAL/SHM and the folder hold tokens' effects, CSRs and stack outputs. */
function ownerOnly(file: string, mode: 0o600 | 0o700): void {
    try {
        fs.chmodSync(file, mode);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
}

export class Store {
    readonly db: Database.Database;

    /** `busyTimeoutMs`: how long a write waits for another connection's lock before SQLITE_BUSY (default 5 s). */
    constructor(readonly file: string, opts: { busyTimeoutMs?: number } = {}) {
        if (file !== ":memory:") {
            fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
            // Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the database file's mode.
            fs.closeSync(fs.openSync(file, "a", 0o600));
            ownerOnly(file, 0o600);
        }
        this.db = openChecked(file);
        this.db.pragma("journal_mode = WAL");
        this.db.pragma("synchronous = NORMAL");
        this.db.pragma("foreign_keys = ON");
        this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
        this.db.exec(SCHEMA);
        // Databases from before the private API phases: add the column (SQLite has no ADD COLUMN IF NOT EXISTS).
        const columns = this.db.prepare<[], { name: string }>("PRAGMA table_info(customers)").all();
        if (!columns.some((c) => c.name === "api_note")) this.db.exec("ALTER TABLE customers ADD COLUMN api_note TEXT");
        // Databases from before drift detection.
        if (!columns.some((c) => c.name === "drift")) this.db.exec("ALTER TABLE customers ADD COLUMN drift TEXT");
        // Databases from before vendor access (byoc:access.vendorAccess and the observed kill switch).
        if (!columns.some((c) => c.name === "vendor_refused_at")) this.db.exec("ALTER TABLE customers ADD COLUMN vendor_refused_at TEXT");
        if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'customers_search'").get()) this.db.exec(CUSTOMER_SEARCH);
        this.migrateHardening();
        if (file !== ":memory:") for (const f of [`${file}-wal`, `${file}-shm`]) ownerOnly(f, 0o600);
    }

    close(): void {
        if (this.db.open) this.db.close();
    }

    get open(): boolean {
        return this.db.open;
    }

    /**
     * One transaction that takes the write lock up front (BEGIN IMMEDIATE): every transaction here reads and then
     * writes, and a deferred one that upgrades its read lock later fails with SQLITE_BUSY at once instead of
     * waiting busy_timeout for the other writer.
     */
    tx<T>(fn: () => T): T {
        return this.db.transaction(fn).immediate();
    }

    // --- customers
    customer(id: string): CustomerRow | undefined {
        return this.db.prepare<[string], CustomerRow>("SELECT * FROM customers WHERE id = ?").get(id);
    }
    customers(): CustomerRow[] {
        return this.db.prepare<[], CustomerRow>("SELECT * FROM customers ORDER BY id").all();
    }
    /**
     * Summary rows for lists: no config/outputs blobs, plus the latest job and the API phase fields read inside
     * SQLite (byoc:controlPlane.privateEndpointOnly/phase/breakGlass, output clusterApiAccess; JSON booleans come
     * back as 1/0).
     */
    customerSummaries(): (Pick<CustomerRow, "id" | "environment" | "customer_id" | "name" | "status" | "created_at" | "updated_at" | "api_note" | "drift" | "vendor_refused_at"> & {
        job_id: string | null;
        job_kind: string | null;
        job_state: string | null;
        cp_private: unknown;
        cp_phase: unknown;
        cp_break_glass: unknown;
        api_applied: unknown;
        /** byoc:access.vendorAccess of the stored config (undefined/null: not set, i.e. enabled). */
        vendor_access: unknown;
    })[] {
        return this.db
            .prepare(
                `${CUSTOMER_SUMMARY_SELECT}
                 ORDER BY c.id`,
            )
            .all() as any[];
    }
    /** One page of customerSummaries, filtered; every filter walks an index (see customerPagePlan). */
    customerPage(filter: CustomerFilter): ReturnType<Store["customerSummaries"]> {
        const { sql, args } = customerPageQuery(filter);
        return this.db.prepare(sql).all(...args) as any[];
    }
    /** EXPLAIN QUERY PLAN of customerPage's query (tests check it uses indexes, never a full scan). */
    customerPagePlan(filter: CustomerFilter): string[] {
        const { sql, args } = customerPageQuery(filter);
        return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map((r) => r.detail);
    }
    insertCustomer(row: CustomerRow): void {
        this.db
            .prepare(
                `INSERT INTO customers (id, environment, customer_id, name, config, status, outputs, api_note, created_by, created_at, updated_at)
                 VALUES (@id, @environment, @customer_id, @name, @config, @status, @outputs, @api_note, @created_by, @created_at, @updated_at)`,
            )
            .run({ ...row, api_note: row.api_note ?? null });
    }
    /** Other customers whose account refused their deploy role at or after `since` (ISO time). */
    refusedSince(since: string, except: string): number {
        return (this.db.prepare("SELECT COUNT(*) AS n FROM customers WHERE vendor_refused_at >= ? AND id != ?").get(since, except) as { n: number }).n;
    }

    updateCustomer(id: string, fields: Partial<Pick<CustomerRow, "config" | "status" | "outputs" | "api_note" | "drift" | "vendor_refused_at" | "updated_at">>): void {
        const keys = Object.keys(fields);
        if (keys.length === 0) return;
        this.db.prepare(`UPDATE customers SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`).run({ ...fields, id });
    }

    // --- jobs
    job(id: string): JobRow | undefined {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE id = ?").get(id);
    }
    /** Newest first; `before` is the cursor (the seq of the last job of the previous page). */
    jobs(filter: { customer?: string; state?: string; before?: number; limit: number }): Omit<JobRow, "log" | "config">[] {
        const cols = "seq, id, customer, kind, state, outcome, message, requested_by, reason, violations, problems, resource_count, rerun_of, created_at, started_at, finished_at, start_attempts";
        const where: string[] = [];
        const args: unknown[] = [];
        if (filter.customer) (where.push("customer = ?"), args.push(filter.customer));
        if (filter.state) (where.push("state = ?"), args.push(filter.state));
        if (filter.before !== undefined) (where.push("seq < ?"), args.push(filter.before));
        return this.db.prepare(`SELECT ${cols} FROM jobs ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`).all(...args, filter.limit) as any[];
    }
    /** Jobs that re-run `id`, oldest first. */
    rerunsOf(id: string): JobRow[] {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE rerun_of = ? ORDER BY seq").all(id);
    }
    /** The log from character `from` on (0-based), and the job's state: what a follower of the log needs. */
    logFrom(id: string, from: number): { log: string; length: number; state: string } | undefined {
        return this.db.prepare<[number, string], { log: string; length: number; state: string }>("SELECT substr(log, ? + 1) AS log, length(log) AS length, state FROM jobs WHERE id = ?").get(from, id);
    }
    jobsInState(state: JobState): JobRow[] {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE state = ? ORDER BY seq").all(state);
    }
    activeJobsOf(customer: string): JobRow[] {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE customer = ? AND state IN ('queued', 'running') ORDER BY seq").all(customer);
    }
    /** When the stack's newest job of this kind was queued (undefined when it never had one). */
    lastJobCreatedAt(customer: string, kind: JobKind): string | undefined {
        return this.db.prepare<[string, string], { created_at: string }>("SELECT created_at FROM jobs WHERE customer = ? AND kind = ? ORDER BY seq DESC LIMIT 1").get(customer, kind)?.created_at;
    }
    insertJob(row: Pick<JobRow, "id" | "customer" | "kind" | "requested_by" | "reason" | "rerun_of" | "created_at">): void {
        this.db
            .prepare(
                `INSERT INTO jobs (id, customer, kind, state, requested_by, reason, rerun_of, created_at)
                 VALUES (@id, @customer, @kind, 'queued', @requested_by, @reason, @rerun_of, @created_at)`,
            )
            .run(row);
        this.db.prepare("UPDATE customers SET last_job = ? WHERE id = ?").run(row.id, row.customer);
    }
    updateJob(id: string, fields: Partial<Omit<JobRow, "seq" | "id" | "customer" | "kind" | "log">>): void {
        const keys = Object.keys(fields);
        if (keys.length === 0) return;
        this.db.prepare(`UPDATE jobs SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`).run({ ...fields, id });
    }
    appendLog(id: string, text: string): void {
        this.db.prepare("UPDATE jobs SET log = log || ? WHERE id = ?").run(text, id);
    }

    // --- access requests
    accessRequest(id: string): AccessRow | undefined {
        return this.db.prepare<[string], AccessRow>("SELECT * FROM access_requests WHERE id = ?").get(id);
    }
    accessRequests(filter: { customer?: string; state?: string; limit: number }): AccessRow[] {
        const where: string[] = [];
        const args: unknown[] = [];
        if (filter.customer) (where.push("customer = ?"), args.push(filter.customer));
        if (filter.state) (where.push("state = ?"), args.push(filter.state));
        return this.db
            .prepare(`SELECT * FROM access_requests ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`)
            .all(...args, filter.limit) as AccessRow[];
    }
    /** Pending requests created before `before` (ISO time): the sweeper expires them. */
    pendingBefore(before: string): AccessRow[] {
        return this.db.prepare<[string], AccessRow>("SELECT * FROM access_requests WHERE state = 'pending' AND created_at < ? ORDER BY seq").all(before);
    }
    insertAccessRequest(row: Pick<AccessRow, "id" | "customer" | "engineer" | "reason" | "hours" | "csr_pem" | "created_at">): void {
        this.db
            .prepare(
                `INSERT INTO access_requests (id, customer, engineer, reason, hours, csr_pem, state, created_at, updated_at)
                 VALUES (@id, @customer, @engineer, @reason, @hours, @csr_pem, 'pending', @created_at, @created_at)`,
            )
            .run(row);
    }
    updateAccessRequest(id: string, fields: Partial<Omit<AccessRow, "seq" | "id" | "customer" | "engineer" | "reason" | "hours" | "csr_pem" | "created_at">>): void {
        const keys = Object.keys(fields);
        if (keys.length === 0) return;
        this.db.prepare(`UPDATE access_requests SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`).run({ ...fields, id });
    }

    // --- hardening: start attempts, who set approvers, config secrets, limits
    private migrateHardening(): void {
        this.db.exec(`
CREATE TABLE IF NOT EXISTS customer_secrets (
    customer TEXT NOT NULL REFERENCES customers(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (customer, key)
);
-- everyone who ever set or changed a stack's byoc:access.approvers (lower-case e-mail): they never decide its requests
CREATE TABLE IF NOT EXISTS approver_setters (
    customer TEXT NOT NULL REFERENCES customers(id),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (customer, actor)
);
CREATE INDEX IF NOT EXISTS customers_customer_id ON customers(customer_id, status);
CREATE INDEX IF NOT EXISTS access_engineer ON access_requests(engineer, state);
`);
        const jobColumns = this.db.prepare<[], { name: string }>("PRAGMA table_info(jobs)").all();
        if (!jobColumns.some((c) => c.name === "start_attempts")) this.db.exec("ALTER TABLE jobs ADD COLUMN start_attempts INTEGER NOT NULL DEFAULT 0");
    }
    /** The stack (not destroyed) that already claims byoc:customer.id `customerId`, if any. */
    liveCustomerWithCustomerId(customerId: string): CustomerRow | undefined {
        return this.db.prepare<[string], CustomerRow>("SELECT * FROM customers WHERE customer_id = ? AND status != 'destroyed' ORDER BY id LIMIT 1").get(customerId);
    }
    /** Config secrets of a stack (key → plaintext): handed to the engine only, never to a view. */
    secretsOf(customer: string): Record<string, string> {
        const rows = this.db.prepare<[string], { key: string; value: string }>("SELECT key, value FROM customer_secrets WHERE customer = ?").all(customer);
        return Object.fromEntries(rows.map((r) => [r.key, r.value]));
    }
    setSecret(customer: string, key: string, value: string): void {
        this.db.prepare("INSERT INTO customer_secrets (customer, key, value) VALUES (?, ?, ?) ON CONFLICT (customer, key) DO UPDATE SET value = excluded.value").run(customer, key, value);
    }
    addApproverSetter(customer: string, actor: string, at: string): void {
        this.db.prepare("INSERT OR IGNORE INTO approver_setters (customer, actor, at) VALUES (?, ?, ?)").run(customer, actor.trim().toLowerCase(), at);
    }
    approverSetters(customer: string): string[] {
        return this.db.prepare<[string], { actor: string }>("SELECT actor FROM approver_setters WHERE customer = ? ORDER BY at").all(customer).map((r) => r.actor);
    }
    pendingRequestsOfEngineer(engineer: string): number {
        return (this.db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM access_requests WHERE engineer = ? AND state = 'pending'").get(engineer) as { n: number }).n;
    }
    pendingRequestsOfCustomer(customer: string): number {
        return (this.db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM access_requests WHERE customer = ? AND state = 'pending'").get(customer) as { n: number }).n;
    }
    queuedJobsOf(customer: string): number {
        return (this.db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM jobs WHERE customer = ? AND state = 'queued'").get(customer) as { n: number }).n;
    }

    // --- audit (append-only)
    audit(at: string, actor: string, action: string, subject: string, details?: Record<string, unknown>): void {
        this.db.prepare("INSERT INTO audit (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)").run(at, actor, action, subject, details ? JSON.stringify(details) : null);
    }
    auditTrail(filter: { after: number; limit: number; subject?: string }): AuditRow[] {
        if (filter.subject) {
            return this.db.prepare<[number, string, number], AuditRow>("SELECT * FROM audit WHERE seq > ? AND subject = ? ORDER BY seq LIMIT ?").all(filter.after, filter.subject, filter.limit);
        }
        return this.db.prepare<[number, number], AuditRow>("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?").all(filter.after, filter.limit);
    }
    /** Newest first, entries before seq `before` (the cursor; none = from the newest). */
    auditTrailDesc(filter: { before?: number; limit: number; subject?: string }): AuditRow[] {
        const before = filter.before ?? Number.MAX_SAFE_INTEGER;
        if (filter.subject) {
            return this.db.prepare<[number, string, number], AuditRow>("SELECT * FROM audit WHERE seq < ? AND subject = ? ORDER BY seq DESC LIMIT ?").all(before, filter.subject, filter.limit);
        }
        return this.db.prepare<[number, number], AuditRow>("SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?").all(before, filter.limit);
    }
}

/** The customer list's columns (the phase fields read from the JSON without pulling the config/outputs blobs). */
const CUSTOMER_SUMMARY_SELECT = `SELECT c.id, c.environment, c.customer_id, c.name, c.status, c.created_at, c.updated_at, c.api_note, c.drift, c.vendor_refused_at,
                        json_extract(c.config, '$."byoc:controlPlane".privateEndpointOnly') AS cp_private,
                        json_extract(c.config, '$."byoc:controlPlane".phase') AS cp_phase,
                        json_extract(c.config, '$."byoc:controlPlane".breakGlass') AS cp_break_glass,
                        json_extract(c.outputs, '$.clusterApiAccess') AS api_applied,
                        json_extract(c.config, '$."byoc:access".vendorAccess') AS vendor_access,
                        j.id AS job_id, j.kind AS job_kind, j.state AS job_state
                 FROM customers c LEFT JOIN jobs j ON j.id = c.last_job`;

function customerPageQuery(filter: CustomerFilter): { sql: string; args: unknown[] } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.text) {
        // Trigram index: 3+ characters match anywhere in id, customer id or name; 1–2 characters (trigrams cannot
        // match those) are a prefix of the stack id, a range of the primary key.
        if ([...filter.text].length >= 3) {
            where.push("c.rowid IN (SELECT rowid FROM customers_search WHERE customers_search MATCH ?)");
            args.push(`"${filter.text.replace(/"/g, '""')}"`);
        } else {
            where.push("c.id >= ? AND c.id < ?");
            const prefix = filter.text.toLowerCase();
            args.push(prefix, prefix + "\uffff");
        }
    }
    if (filter.status) (where.push("c.status = ?"), args.push(filter.status));
    if (filter.environment) (where.push("c.environment = ?"), args.push(filter.environment));
    if (filter.after !== undefined) (where.push("c.id > ?"), args.push(filter.after));
    const sql = `${CUSTOMER_SUMMARY_SELECT}
                 ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY c.id LIMIT ?`;
    return { sql, args: [...args, filter.limit] };
}

/**
 * Opens the database and proves it is one: a file that is not SQLite, or whose pages are damaged, is refused with
 * what to do instead of failing later on the first query (or silently serving half the data).
 */
function openChecked(file: string): Database.Database {
    let db: Database.Database | undefined;
    try {
        db = new Database(file);
        const check = db.pragma("quick_check(1)", { simple: true });
        if (check !== "ok") throw new Error(String(check));
        return db;
    } catch (err) {
        db?.close();
        throw new DatabaseFileError(
            `${file} is not a usable portal database (${(err as Error).message}): the portal will not start on it. ` +
                "Restore it from a backup, or move it away (with its -wal and -shm files) to start empty (BYOC_PORTAL_DB names another file)",
        );
    }
}
