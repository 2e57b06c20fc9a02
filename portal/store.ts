// The portal's state in SQLite: customers (one per stack), jobs with their logs, access requests and the audit
// trail. Every write that belongs together goes through `tx` so nothing is half-written; the audit table refuses
// UPDATE and DELETE at the database level.
import * as fs from "fs";
import * as path from "path";
import Database from "better-sqlite3";

export type JobKind = "preview" | "up" | "destroy" | "refresh";
export type JobState = "queued" | "running" | "succeeded" | "failed" | "interrupted";
export type CustomerStatus = "provisioning" | "deployed" | "failed" | "destroying" | "destroyed";
export type AccessState = "pending" | "approved" | "active" | "expired" | "denied";

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

export class Store {
    readonly db: Database.Database;

    constructor(readonly file: string) {
        if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true });
        this.db = new Database(file);
        this.db.pragma("journal_mode = WAL");
        this.db.pragma("synchronous = NORMAL");
        this.db.pragma("foreign_keys = ON");
        this.db.pragma("busy_timeout = 5000");
        this.db.exec(SCHEMA);
        // Databases from before the private API phases: add the column (SQLite has no ADD COLUMN IF NOT EXISTS).
        const columns = this.db.prepare<[], { name: string }>("PRAGMA table_info(customers)").all();
        if (!columns.some((c) => c.name === "api_note")) this.db.exec("ALTER TABLE customers ADD COLUMN api_note TEXT");
    }

    close(): void {
        if (this.db.open) this.db.close();
    }

    get open(): boolean {
        return this.db.open;
    }

    tx<T>(fn: () => T): T {
        return this.db.transaction(fn)();
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
    customerSummaries(): (Pick<CustomerRow, "id" | "environment" | "customer_id" | "name" | "status" | "created_at" | "updated_at" | "api_note"> & {
        job_id: string | null;
        job_kind: string | null;
        job_state: string | null;
        cp_private: unknown;
        cp_phase: unknown;
        cp_break_glass: unknown;
        api_applied: unknown;
    })[] {
        return this.db
            .prepare(
                `SELECT c.id, c.environment, c.customer_id, c.name, c.status, c.created_at, c.updated_at, c.api_note,
                        json_extract(c.config, '$."byoc:controlPlane".privateEndpointOnly') AS cp_private,
                        json_extract(c.config, '$."byoc:controlPlane".phase') AS cp_phase,
                        json_extract(c.config, '$."byoc:controlPlane".breakGlass') AS cp_break_glass,
                        json_extract(c.outputs, '$.clusterApiAccess') AS api_applied,
                        j.id AS job_id, j.kind AS job_kind, j.state AS job_state
                 FROM customers c LEFT JOIN jobs j ON j.id = c.last_job
                 ORDER BY c.id`,
            )
            .all() as any[];
    }
    insertCustomer(row: CustomerRow): void {
        this.db
            .prepare(
                `INSERT INTO customers (id, environment, customer_id, name, config, status, outputs, api_note, created_by, created_at, updated_at)
                 VALUES (@id, @environment, @customer_id, @name, @config, @status, @outputs, @api_note, @created_by, @created_at, @updated_at)`,
            )
            .run({ ...row, api_note: row.api_note ?? null });
    }
    updateCustomer(id: string, fields: Partial<Pick<CustomerRow, "config" | "status" | "outputs" | "api_note" | "updated_at">>): void {
        const keys = Object.keys(fields);
        if (keys.length === 0) return;
        this.db.prepare(`UPDATE customers SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`).run({ ...fields, id });
    }

    // --- jobs
    job(id: string): JobRow | undefined {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE id = ?").get(id);
    }
    jobs(filter: { customer?: string; limit: number }): Omit<JobRow, "log" | "config">[] {
        const cols = "seq, id, customer, kind, state, outcome, message, requested_by, reason, violations, problems, resource_count, rerun_of, created_at, started_at, finished_at";
        if (filter.customer) return this.db.prepare(`SELECT ${cols} FROM jobs WHERE customer = ? ORDER BY seq DESC LIMIT ?`).all(filter.customer, filter.limit) as any[];
        return this.db.prepare(`SELECT ${cols} FROM jobs ORDER BY seq DESC LIMIT ?`).all(filter.limit) as any[];
    }
    jobsInState(state: JobState): JobRow[] {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE state = ? ORDER BY seq").all(state);
    }
    activeJobsOf(customer: string): JobRow[] {
        return this.db.prepare<[string], JobRow>("SELECT * FROM jobs WHERE customer = ? AND state IN ('queued', 'running') ORDER BY seq").all(customer);
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
}
