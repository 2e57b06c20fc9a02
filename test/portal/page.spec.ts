// The page in real headless Chromium (Debian's chromium driven by playwright-core): an approver signs in with
// a token, approves a pending access request and watches it become active.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { chromium, Browser, Locator, Page } from "playwright-core";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../../automation";
import { csrFor, customerConfig, quickPreview, startHarness, tempDir, TOKENS, until, Harness } from "./helpers";

/**
 * The offline engine, except that an `up` of a held stack waits until that stack is released, and an `up` of a
 * stack in `failUp` fails: rollouts advance exactly when a test says so.
 */
class GateEngine implements StackEngine {
    readonly kind = "offline" as const;
    readonly failUp = new Set<string>();
    private readonly gates = new Map<string, { wait: Promise<void>; open: () => void }>();
    constructor(readonly inner: OfflineEngine) {}
    hold(...stacks: string[]): void {
        for (const s of stacks) {
            if (this.gates.has(s)) continue;
            let open = () => {};
            const wait = new Promise<void>((r) => (open = r));
            this.gates.set(s, { wait, open });
        }
    }
    release(...stacks: string[]): void {
        for (const s of stacks) {
            this.gates.get(s)?.open();
            this.gates.delete(s);
        }
    }
    releaseAll(): void {
        this.release(...this.gates.keys());
    }
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext) {
        return this.inner.configure(stack, raw, ctx);
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        if (op === "up") {
            await this.gates.get(stack)?.wait;
            if (this.failUp.has(stack)) return { outcome: "failed", message: `injected failure of ${stack}` };
        }
        return this.inner.run(op, stack, raw, ctx);
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
    close() {
        return this.inner.close();
    }
}

/** Waits until `read()` gives `expected` (deep-equal), failing with the last value read. */
async function eventually<T>(what: string, read: () => Promise<T>, expected: T, timeoutMs = 20_000): Promise<void> {
    let last: T | undefined;
    try {
        await until(what, async () => {
            last = await read();
            return JSON.stringify(last) === JSON.stringify(expected);
        }, timeoutMs);
    } catch {
        assert.fail(`${what}: expected ${JSON.stringify(expected)}, still ${JSON.stringify(last)}`);
    }
}

const CHROMIUM = "/usr/bin/chromium";
// Browser globals used inside page.evaluate callbacks (they run in Chromium; tsconfig has no DOM lib).
declare const document: any;
declare const getSelection: any;
declare const requestAnimationFrame: any;
type HTMLDetailsElement = { open: boolean };

describe("portal: page in headless Chromium", function () {
    this.timeout(60_000);
    let h: Harness | undefined;
    let browser: Browser | undefined;
    let gate: GateEngine | undefined;

    before(function () {
        if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian chromium package (.ci/run does)`);
    });
    afterEach(async () => {
        gate?.releaseAll();
        await browser?.close();
        await h?.close();
        browser = undefined;
        h = undefined;
        gate = undefined;
    });

    it("an approver approves a pending request and sees it become active", async () => {
        h = await startHarness();
        const created = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "globex", config: customerConfig("globex") });
        await until("customer deployed", async () => (await h!.call("GET", `/api/jobs/${created.body.job.id}`, TOKENS.operator)).body.job.state === "succeeded");
        const req = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "replication queue stuck", hours: 2, csrPem: csrFor("alice@example.com") });
        assert.equal(req.status, 201);
        const id: string = req.body.request.id;

        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await page.goto(h.running.url + "/");
        await page.fill("#token", TOKENS.approver);
        await page.click("#signin button[type=submit]");
        await page.waitForSelector("#user:has-text('lead@example.com')");

        const row = page.locator(`tr[data-request-id="${id}"]`);
        await row.locator(".state:has-text('pending')").waitFor();
        assert.equal(await row.locator("td").nth(2).textContent(), "alice@example.com");
        await row.locator("button.approve").click();
        await row.locator(".state:has-text('active')").waitFor({ timeout: 20_000 });
        assert.match((await row.locator("pre.certificate").textContent()) ?? "", /-----BEGIN CERTIFICATE-----/);
        assert.equal(await row.locator("button.approve").count(), 0, "no approve button once decided");

        const api = (await h.call("GET", `/api/access-requests/${id}`, TOKENS.auditor)).body.request;
        assert.equal(api.state, "active");
        assert.equal(api.decidedBy, "lead@example.com");
        // Approvers do not see the audit trail; the token stays in sessionStorage only.
        assert.equal(await page.isHidden("#audit-section"), true);
        assert.equal(await page.evaluate("localStorage.length"), 0);
        assert.deepEqual(errors, []);
    });

    it("shows no approve buttons to an engineer and the audit trail to an auditor", async () => {
        h = await startHarness();
        const created = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "initech", config: customerConfig("initech") });
        await until("customer deployed", async () => (await h!.call("GET", `/api/jobs/${created.body.job.id}`, TOKENS.operator)).body.job.state === "succeeded");
        const req = await h.call("POST", "/api/customers/initech/access-requests", TOKENS.engineer, { reason: "slow queries", hours: 1, csrPem: csrFor("alice@example.com") });
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
        const page = await browser.newPage();
        await page.goto(h.running.url + "/");
        await page.fill("#token", TOKENS.engineer);
        await page.click("#signin button[type=submit]");
        const row = page.locator(`tr[data-request-id="${req.body.request.id}"]`);
        await row.locator(".state:has-text('pending')").waitFor();
        assert.equal(await row.locator("button.approve, button.deny").count(), 0);
        await page.click("#signout");
        await page.fill("#token", TOKENS.auditor);
        await page.click("#signin button[type=submit]");
        await page.locator("#audit tbody td:has-text('access.requested')").first().waitFor();
        // Job logs open on click.
        await page.locator(`#jobs tr[data-job-id="${created.body.job.id}"]`).click();
        await page.locator("#job-log:has-text('succeeded')").waitFor();
    });

    const launch = () =>
        chromium.launch({
            executablePath: CHROMIUM,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"], // launch() gives every browser a fresh profile dir of its own
        });
    async function signIn(page: Page, token: string, user: string): Promise<void> {
        await page.goto(h!.running.url + "/");
        await page.fill("#token", token);
        await page.click("#signin button[type=submit]");
        await page.waitForSelector(`#user:has-text('${user}')`);
    }
    async function deployedStack(stack: string): Promise<void> {
        const created = await h!.call("POST", "/api/customers", TOKENS.operator, { stack, config: customerConfig(stack) });
        await until(`${stack} deployed`, async () => (await h!.call("GET", `/api/jobs/${created.body.job.id}`, TOKENS.operator)).body.job.state === "succeeded");
    }

    it("an engineer requests access by pasting a CSR, then revokes their own request", async () => {
        h = await startHarness();
        await deployedStack("globex");
        browser = await launch();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await signIn(page, TOKENS.engineer, "alice@example.com");
        assert.equal(await page.isHidden("#create-customer"), true, "engineers create no customers");
        const customer = page.locator('#customers tr[data-customer-id="globex"]');
        assert.equal(await customer.locator("button.destroy, button.up").count(), 0, "nor run stacks");
        await customer.locator("button.request").click();
        assert.equal(await page.inputValue("#request-customer"), "globex");
        await page.fill("#request-reason", "replication queue stuck on shard 2");
        await page.fill("#request-hours", "2");
        await page.fill("#request-csr", csrFor("alice@example.com"));
        await page.click("#request-form button[type=submit]");
        await page.waitForSelector("#message:has-text('requested; an approver decides')");
        const stored = (await h.call("GET", "/api/access-requests?customer=globex", TOKENS.auditor)).body.requests;
        assert.equal(stored.length, 1);
        assert.deepEqual([stored[0].engineer, stored[0].hours, stored[0].reason], ["alice@example.com", 2, "replication queue stuck on shard 2"]);
        const row = page.locator(`tr[data-request-id="${stored[0].id}"]`);
        await row.locator(".state:has-text('pending')").waitFor();
        assert.equal(await row.locator("button.approve").count(), 0, "never approves their own");

        // Approved meanwhile by an approver; the engineer revokes it from the page.
        assert.equal((await h.call("POST", `/api/access-requests/${stored[0].id}/approve`, TOKENS.approver)).status, 200);
        await row.locator(".state:has-text('active')").waitFor({ timeout: 20_000 });
        page.once("dialog", (d) => d.accept());
        await row.locator("button.revoke").click();
        await row.locator(".state:has-text('revoked')").waitFor({ timeout: 20_000 });
        assert.equal((await h.call("GET", `/api/access-requests/${stored[0].id}`, TOKENS.auditor)).body.request.state, "revoked");
        assert.equal(await row.locator("button.revoke").count(), 0);
        // Nobody else's request offers a revoke button.
        const other = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer2, { reason: "bob's turn", hours: 1, csrPem: csrFor("bob@example.com") });
        await page.locator(`tr[data-request-id="${other.body.request.id}"] .state:has-text('pending')`).waitFor();
        assert.equal(await page.locator(`tr[data-request-id="${other.body.request.id}"] button.revoke`).count(), 0);
        assert.deepEqual(errors, []);
    });

    it("an operator destroys a stack only after typing its name; interrupted jobs stay visible with a re-run", async () => {
        const first = await startHarness();
        first.engine.hold();
        const held = await first.call("POST", "/api/customers", TOKENS.operator, { stack: "soylent", config: customerConfig("soylent") });
        await until("running", async () => (await first.call("GET", `/api/jobs/${held.body.job.id}`, TOKENS.operator)).body.job.state === "running");
        await first.close();
        first.engine.release();
        h = await startHarness({ dir: first.dir });
        await deployedStack("globex");
        for (let i = 0; i < 25; i++) await h.call("POST", "/api/customers/globex/preview", TOKENS.operator); // the interrupted job is far down the list
        await h.running.portal.idle();
        browser = await launch();
        const page = await browser.newPage();
        await signIn(page, TOKENS.operator, "operator@example.com");

        const interrupted = page.locator(`#interrupted-jobs tr[data-job-id="${held.body.job.id}"]`);
        await interrupted.waitFor();
        assert.equal(await page.locator(`#jobs tr[data-job-id="${held.body.job.id}"]`).count(), 0, "not on the first page of jobs");
        assert.equal(await page.locator("#jobs tbody tr").count(), 20);
        await page.click("#jobs-pager .next");
        await page.locator(`#jobs tr[data-job-id="${held.body.job.id}"]`).waitFor();
        await page.click("#jobs-pager .prev");
        await interrupted.locator("button.rerun").click();
        await page.waitForSelector("#message:has-text('re-run as')");
        await page.locator(`#interrupted-jobs tr[data-job-id="${held.body.job.id}"]`).waitFor({ state: "visible" }); // stays listed: it was interrupted
        await until("re-run done", async () => (await h!.call("GET", "/api/jobs?customer=soylent&state=succeeded", TOKENS.operator)).body.jobs.length === 1);

        const row = page.locator('#customers tr[data-customer-id="globex"]');
        await row.locator("button.destroy").click();
        const dialog = page.locator("#destroy-dialog");
        await dialog.waitFor({ state: "visible" });
        assert.equal(await page.textContent("#destroy-stack"), "globex");
        assert.equal(await page.isDisabled("#destroy-submit"), true);
        await page.fill("#destroy-confirm", "globe");
        assert.equal(await page.isDisabled("#destroy-submit"), true);
        await page.press("#destroy-confirm", "Enter"); // Enter with the wrong name destroys nothing
        await page.click("#destroy-cancel");
        await dialog.waitFor({ state: "hidden" });
        assert.equal((await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer.status, "deployed");
        await row.locator("button.destroy").click();
        assert.equal(await page.inputValue("#destroy-confirm"), "", "the dialog starts empty");
        await page.fill("#destroy-confirm", "globex");
        assert.equal(await page.isDisabled("#destroy-submit"), false);
        const deleted = page.waitForRequest((r) => r.method() === "DELETE");
        await page.click("#destroy-submit");
        assert.equal(new URL((await deleted).url()).search, "?confirm=globex", "the typed name confirms on the server too (prod stacks need it)");
        await row.locator(".state:has-text('destroyed')").waitFor({ timeout: 20_000 });
        assert.equal(await row.locator("button.destroy").count(), 0);
    });

    it("streams a running job's log live, appending without replacing what is shown (a selection survives)", async () => {
        h = await startHarness();
        await deployedStack("globex");
        browser = await launch();
        const page = await browser.newPage();
        await signIn(page, TOKENS.auditor, "audit@example.com");
        h.engine.hold();
        const job = (await h.call("POST", "/api/customers/globex/up", TOKENS.operator)).body.job;
        await until("running", async () => (await h!.call("GET", `/api/jobs/${job.id}`, TOKENS.operator)).body.job.state === "running");
        await page.locator(`#jobs tr[data-job-id="${job.id}"]`).click();
        await page.locator("#job-log:has-text('config:')").waitFor();
        assert.doesNotMatch((await page.textContent("#job-log")) ?? "", /succeeded/);
        assert.equal(await page.textContent("#job-live"), "● live");
        // Select the first line, mark its node, and let a few refreshes pass.
        await page.evaluate(() => {
            const pre = document.querySelector("#job-log")!;
            (pre.firstChild as any).marked = true;
            const range = document.createRange();
            range.setStart(pre.firstChild!, 0);
            range.setEnd(pre.firstChild!, 7);
            getSelection()!.removeAllRanges();
            getSelection()!.addRange(range);
        });
        await page.waitForTimeout(2500);
        h.engine.release();
        await page.locator("#job-log:has-text('succeeded: update of globex finished')").waitFor({ timeout: 20_000 });
        await page.locator("#job-live:has-text('(succeeded)')").waitFor();
        assert.equal(await page.evaluate(() => (document.querySelector("#job-log")!.firstChild as any).marked === true), true, "the first chunk is still the same node");
        assert.equal(await page.evaluate(() => getSelection()!.toString()), "config:");
        assert.equal(await page.textContent("#job-log"), (await h.call("GET", `/api/jobs/${job.id}`, TOKENS.auditor)).body.job.log);
        const urls: string[] = [];
        page.on("request", (r) => urls.push(r.url()));
        await page.waitForTimeout(1500);
        assert.ok(!urls.some((u) => u.includes(`/api/jobs/${job.id}/log`)), "a finished log is not fetched again");
        assert.ok(!urls.some((u) => new URL(u).pathname === `/api/jobs/${job.id}`), "nor polled");
    });

    it("updates rows in place: an opened certificate stays open, rows keep their elements", async () => {
        h = await startHarness();
        await deployedStack("globex");
        const req = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "slow queries", hours: 1, csrPem: csrFor("alice@example.com") });
        await h.call("POST", `/api/access-requests/${req.body.request.id}/approve`, TOKENS.approver);
        await until("active", async () => (await h!.call("GET", `/api/access-requests/${req.body.request.id}`, TOKENS.auditor)).body.request.state === "active");
        browser = await launch();
        const page = await browser.newPage();
        await signIn(page, TOKENS.engineer, "alice@example.com");
        const row = page.locator(`tr[data-request-id="${req.body.request.id}"]`);
        await row.locator("summary").click();
        await page.evaluate(() => ((document.querySelector('#customers tr[data-customer-id="globex"]') as any).marked = true));
        await h.call("POST", "/api/customers/globex/preview", TOKENS.operator); // something changes meanwhile
        await page.waitForTimeout(2500);
        assert.equal(await row.locator("details").evaluate((d) => (d as HTMLDetailsElement).open), true, "still open after refreshes");
        assert.equal(await page.evaluate(() => (document.querySelector('#customers tr[data-customer-id="globex"]') as any).marked), true, "same row element");
        await page.locator('#customers tr[data-customer-id="globex"] td:has-text("preview succeeded")').waitFor();
    });

    it("stays responsive with 10,000 customers and 100,000 audit entries: pages, newest audit first", async () => {
        h = await startHarness();
        const store = h.running.portal.store;
        const at = new Date().toISOString();
        const config = JSON.stringify(customerConfig("seed"));
        store.tx(() => {
            for (let i = 0; i < 10_000; i++) {
                const id = `cust-${String(i).padStart(5, "0")}`;
                store.insertCustomer({ id, environment: i % 4 === 0 ? "prod" : "dev", customer_id: id, name: `Customer ${i}`, config, status: i % 10 === 0 ? "failed" : "deployed", outputs: null, created_by: "seed", created_at: at, updated_at: at });
            }
            for (let i = 0; i < 100_000; i++) store.audit(at, "seed", "seed.entry", `entry-${i}`);
        });
        browser = await launch();
        const page = await browser.newPage();
        const urls: string[] = [];
        page.on("request", (r) => urls.push(r.url()));
        const t0 = Date.now();
        await signIn(page, TOKENS.auditor, "audit@example.com");
        await page.locator("#customers tbody tr").nth(49).waitFor();
        await page.locator("#audit tbody tr").nth(49).waitFor();
        const loaded = Date.now() - t0;
        assert.ok(loaded < 5000, `first screen after ${loaded} ms`);
        assert.equal(await page.locator("#customers tbody tr").count(), 50);
        assert.equal(await page.locator("#audit tbody tr").count(), 50);
        const top = Number(await page.locator("#audit tbody tr").first().locator("td").first().textContent());
        assert.equal(top, (store.db.prepare("SELECT max(seq) AS m FROM audit").get() as { m: number }).m, "newest first");
        assert.ok(!urls.some((u) => /\/api\/audit\?.*limit=5000/.test(u)), "never asks for 5,000 entries");
        assert.ok(urls.some((u) => /\/api\/audit\?order=desc&limit=50/.test(u)));

        // Paging and filtering answer at once, and the page keeps answering while it refreshes every second.
        let t = Date.now();
        await page.click("#audit-pager .next");
        await page.locator(`#audit tbody tr:first-child td:first-child:text-is("${top - 50}")`).waitFor();
        await page.click("#customers-pager .next");
        await page.locator('#customers tbody tr:first-child[data-customer-id="cust-00050"]').waitFor();
        await page.fill("#customer-q", "Customer 9999");
        await page.locator('#customers tbody tr:first-child[data-customer-id="cust-09999"]').waitFor();
        assert.equal(await page.textContent("#customers-pager .page"), "page 1", "a new filter starts at page 1");
        assert.ok(Date.now() - t < 3000, `paging and filtering took ${Date.now() - t} ms`);
        t = Date.now();
        for (let i = 0; i < 20; i++) await page.evaluate(() => 1);
        await page.waitForTimeout(2000);
        const gaps = await page.evaluate(async () => {
            // The longest gap between animation frames over 2 s of refreshes: a frozen page shows long gaps.
            let last = performance.now();
            let worst = 0;
            const end = last + 2000;
            while (performance.now() < end) {
                await new Promise((r) => requestAnimationFrame(() => r(null)));
                const now = performance.now();
                worst = Math.max(worst, now - last);
                last = now;
            }
            return worst;
        });
        assert.ok(gaps < 250, `longest frame gap ${gaps.toFixed(0)} ms`);
    });

    // ------------------------------------------------------------------ rollouts

    /** A harness over the gated offline engine, with `ids` deployed (their initial ups are not held). */
    async function rolloutHarness(ids: string[]): Promise<Harness> {
        const dir = tempDir();
        gate = new GateEngine(new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }));
        h = await startHarness({ dir, engine: gate, maxParallel: 8 });
        for (const id of ids) assert.equal((await h.call("POST", "/api/customers", TOKENS.operator, { stack: id, config: customerConfig(id) })).status, 202);
        await until("customers deployed", async () => {
            const list = (await h!.call("GET", "/api/customers?limit=200", TOKENS.auditor)).body.customers as { id: string; status: string }[];
            return ids.every((id) => list.find((c) => c.id === id)?.status === "deployed");
        });
        h.engine.started.length = 0; // from here on: the rollout's runs only
        return h;
    }
    async function startRollout(body: Record<string, unknown>): Promise<string> {
        const post = await h!.call("POST", "/api/rollouts", TOKENS.operator, { maxParallel: 2, haltOnFailure: true, ...body });
        assert.equal(post.status, 202, JSON.stringify(post.body));
        return post.body.rollout.id;
    }
    const rolloutOn = (page: Page, id: string) => page.locator(`#rollouts article[data-rollout-id="${id}"]`);
    /** Per wave, as the page shows it: "<progress value>/<progress max> <wave state>", the bar found by its role and name. */
    const waveBars = (ro: Locator, waves: number) =>
        Promise.all(Array.from({ length: waves }, async (_, i) => {
            const bar = ro.getByRole("progressbar", { name: new RegExp(`^Wave ${i + 1} `) });
            const wave = ro.locator(`.wave[data-wave="${i + 1}"]`);
            return `${await bar.getAttribute("value")}/${await bar.getAttribute("max")} ${await wave.locator(".wave-state").textContent()}`;
        }));
    const itemState = (ro: Locator, wave: number, customer: string) => ro.locator(`.wave[data-wave="${wave}"] tr[data-customer="${customer}"] td:nth-child(3)`).textContent();
    const apiRollout = async (id: string) => (await h!.call("GET", `/api/rollouts/${id}`, TOKENS.auditor)).body.rollout;

    it("rollouts: a rollout over several waves shows per-wave progress bars that advance to complete", async () => {
        const ids = ["wa1", "wa2", "wa3", "wa4"];
        await rolloutHarness(ids);
        gate!.hold(...ids);
        browser = await launch();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await signIn(page, TOKENS.auditor, "audit@example.com");
        assert.equal(await page.isVisible("#rollouts-empty"), true, "says there are none yet");
        const id = await startRollout({ selector: { customers: ids }, waves: [1, 2, 1], reason: "release 1.4.0" });
        const ro = rolloutOn(page, id);
        await ro.waitFor({ timeout: 10_000 }); // idle: the list is asked for every 5 s
        assert.equal(await page.isHidden("#rollouts-empty"), true);
        assert.equal(await ro.locator(".rollout-id").textContent(), id);
        assert.equal(await ro.locator(".rollout-reason-text").textContent(), "release 1.4.0");
        await eventually("wave 1 running", () => waveBars(ro, 3), ["0/1 running", "0/2 pending", "0/1 pending"]);
        await eventually("wa1's job running", () => itemState(ro, 1, "wa1"), "running");
        assert.equal(await ro.locator(".rollout-state").textContent(), "running");
        assert.match((await ro.getByRole("progressbar", { name: /^Wave 2 / }).getAttribute("aria-labelledby")) ?? "", /wave-name-\d+ wave-count-\d+/);
        assert.equal(await ro.getByRole("progressbar").count(), 3);

        gate!.release("wa1");
        await eventually("wave 2 running", () => waveBars(ro, 3), ["1/1 succeeded", "0/2 running", "0/1 pending"]);
        gate!.release("wa2");
        await eventually("half of wave 2", () => waveBars(ro, 3), ["1/1 succeeded", "1/2 running", "0/1 pending"]);
        assert.equal(await ro.locator('.wave[data-wave="2"] .wave-count').textContent(), "1 of 2 finished");
        gate!.release("wa3");
        await eventually("wave 3 running", () => waveBars(ro, 3), ["1/1 succeeded", "2/2 succeeded", "0/1 running"]);
        gate!.release("wa4");
        await eventually("complete", () => waveBars(ro, 3), ["1/1 succeeded", "2/2 succeeded", "1/1 succeeded"]);
        await ro.locator(".rollout-state:text-is('succeeded')").waitFor();
        assert.equal((await apiRollout(id)).state, "succeeded");
        for (const [wave, c] of [[1, "wa1"], [2, "wa2"], [2, "wa3"], [3, "wa4"]] as const) assert.equal(await itemState(ro, wave, c), "succeeded");
        // Each item's job opens its log.
        const job = (await apiRollout(id)).waves[2].items[0].jobId;
        await ro.getByRole("button", { name: `Show the log of ${job}` }).click();
        await page.locator("#job-log:has-text('succeeded: update of wa4 finished')").waitFor();

        // Nothing running: the one refresh loop asks for rollouts only every 5th second.
        const urls: string[] = [];
        page.on("request", (r) => urls.push(new URL(r.url()).pathname));
        await page.waitForTimeout(3500);
        assert.ok(urls.filter((u) => u === "/api/jobs").length >= 3, `jobs still refreshed: ${urls}`);
        assert.ok(urls.filter((u) => u.startsWith("/api/rollouts")).length <= 1, `rollouts asked for ${urls.filter((u) => u.startsWith("/api/rollouts")).length} times in 3.5 s`);
        assert.deepEqual(errors, []);
    });

    it("rollouts: a halted rollout shows halted, why, and how far each wave got; no cancel once halted", async () => {
        const ids = ["hb1", "hb2", "hb3"];
        await rolloutHarness(ids);
        gate!.failUp.add("hb2");
        browser = await launch();
        const page = await browser.newPage();
        await signIn(page, TOKENS.operator, "operator@example.com");
        const id = await startRollout({ selector: { customers: ids }, waves: [1, 1, 1], maxParallel: 1, reason: "release 1.4.1" });
        const ro = rolloutOn(page, id);
        await ro.locator(".rollout-state:text-is('halted')").waitFor({ timeout: 20_000 });
        await eventually("waves", () => waveBars(ro, 3), ["1/1 succeeded", "1/1 halted", "0/1 skipped"]);
        assert.match((await ro.locator(".rollout-halt-text").textContent()) ?? "", /^customer hb2 failed \(job-[0-9a-f]+\): injected failure of hb2$/);
        assert.equal(await ro.locator(".rollout-halt").isVisible(), true);
        assert.equal(await ro.locator('.wave[data-wave="2"] .wave-count').textContent(), "1 of 1 finished, 1 failed");
        assert.equal(await ro.locator('.wave[data-wave="3"] .wave-count').textContent(), "0 of 1 finished, 1 skipped");
        assert.equal(await itemState(ro, 2, "hb2"), "failed");
        assert.equal(await ro.locator('.wave[data-wave="2"] tr[data-customer="hb2"] td:nth-child(4)').textContent(), "injected failure of hb2");
        assert.equal(await itemState(ro, 3, "hb3"), "skipped");
        assert.equal(await ro.locator('.wave[data-wave="3"] tr[data-customer="hb3"] td:nth-child(2)').textContent(), "—", "never queued");
        assert.equal(await ro.locator("button.cancel-rollout").count(), 0, "a halted rollout cannot be cancelled");
        assert.equal((await apiRollout(id)).state, "halted");
    });

    it("rollouts: an operator cancels a running rollout from the page and sees it halted", async () => {
        const ids = ["cc1", "cc2"];
        await rolloutHarness(ids);
        gate!.hold("cc1");
        browser = await launch();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await signIn(page, TOKENS.operator, "operator@example.com");
        const id = await startRollout({ selector: { customers: ids }, waves: [1, 1], maxParallel: 1, reason: "release 2.0" });
        const ro = rolloutOn(page, id);
        await eventually("cc1 running", () => itemState(ro, 1, "cc1"), "running");
        const cancel = ro.getByRole("button", { name: `Cancel rollout ${id}` });
        const dialog = page.locator("#cancel-rollout-dialog");

        // "Keep running" sends nothing.
        const posts: string[] = [];
        page.on("request", (r) => r.method() === "POST" && posts.push(new URL(r.url()).pathname));
        await cancel.click();
        await dialog.waitFor({ state: "visible" });
        assert.equal(await page.textContent("#cancel-rollout-id"), id);
        await page.click("#cancel-rollout-keep");
        await dialog.waitFor({ state: "hidden" });
        assert.deepEqual(posts, []);
        assert.equal((await apiRollout(id)).state, "running");

        await cancel.click();
        await page.fill("#cancel-rollout-reason", "bad build");
        const sent = page.waitForRequest((r) => r.method() === "POST");
        await page.click("#cancel-rollout-submit");
        const req = await sent;
        assert.equal(new URL(req.url()).pathname, `/api/rollouts/${id}/cancel`);
        assert.deepEqual(req.postDataJSON(), { reason: "bad build" });
        await ro.locator(".rollout-state:text-is('halted')").waitFor();
        await page.waitForSelector(`#message:has-text('${id}: cancelled (halted)')`);
        assert.equal(await ro.locator(".rollout-halt-text").textContent(), "cancelled by operator@example.com: bad build");
        assert.equal(await cancel.count(), 0, "no cancel button once halted");
        await eventually("halted waves", () => waveBars(ro, 2), ["0/1 halted", "0/1 skipped"]);
        const r = await apiRollout(id);
        assert.equal(r.state, "halted");
        assert.equal(r.haltReason, "cancelled by operator@example.com: bad build");
        // The running up finishes; the page shows it; the next wave never starts.
        gate!.release("cc1");
        await eventually("cc1 finished", () => waveBars(ro, 2), ["1/1 halted", "0/1 skipped"]);
        assert.equal(await itemState(ro, 1, "cc1"), "succeeded");
        assert.ok(!h!.engine.started.includes("up:cc2"));
        assert.deepEqual(errors, []);
    });

    it("rollouts: a viewer (auditor or engineer) sees a running rollout but no Cancel button", async () => {
        const ids = ["vv1"];
        await rolloutHarness(ids);
        gate!.hold("vv1");
        const id = await startRollout({ selector: { customers: ids }, waves: [1], reason: "release 2.1" });
        await until("vv1's up started", () => h!.engine.started.includes("up:vv1"));
        browser = await launch();
        const page = await browser.newPage();
        const ro = rolloutOn(page, id);
        // An operator does get it (so its absence below means something)…
        await signIn(page, TOKENS.operator, "operator@example.com");
        await ro.getByRole("button", { name: `Cancel rollout ${id}` }).waitFor();
        await page.click("#signout");
        // …an auditor and an engineer do not, through several refreshes.
        for (const [token, user] of [[TOKENS.auditor, "audit@example.com"], [TOKENS.engineer, "alice@example.com"]]) {
            await page.fill("#token", token);
            await page.click("#signin button[type=submit]");
            await page.waitForSelector(`#user:has-text('${user}')`);
            await eventually(`${user} sees it running`, () => itemState(ro, 1, "vv1"), "running");
            assert.equal(await ro.locator(".rollout-state").textContent(), "running");
            await page.waitForTimeout(1500);
            assert.equal(await ro.locator("button").filter({ hasText: /cancel/i }).count(), 0, `${user}: no cancel button`);
            assert.equal(await page.locator("#rollouts button.cancel-rollout").count(), 0);
            await page.click("#signout");
        }
        assert.equal((await apiRollout(id)).state, "running");
    });

    it("rollouts: markup in a rollout's reason, a cancel reason or a customer id is shown as text, never as HTML", async () => {
        const ids = ["xs1", "xs2"];
        await rolloutHarness(ids);
        gate!.hold("xs1");
        const reason = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b> & "release"`;
        const cancelReason = `<i>bad</i> build <svg onload="window.__xss=3"></svg>`;
        const fakeCustomer = `<img src=y onerror="window.__xss=4">`;
        browser = await launch();
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        // A customer id the API would never give (ids are DNS labels), put into the list on its way to the page.
        await page.route((u) => u.pathname === "/api/rollouts", async (route) => {
            const res = await route.fetch();
            const body = await res.json();
            for (const r of body.rollouts) if (r.waves[1]) r.waves[1].items[0].customer = fakeCustomer;
            await route.fulfill({ response: res, json: body });
        });
        await signIn(page, TOKENS.operator, "operator@example.com");
        const id = await startRollout({ selector: { customers: ids }, waves: [1, 1], maxParallel: 1, reason });
        const ro = rolloutOn(page, id);
        await eventually("xs1 running", () => itemState(ro, 1, "xs1"), "running");
        assert.equal(await ro.locator(".rollout-reason-text").textContent(), reason.trim());
        assert.equal(await ro.locator('.wave[data-wave="2"] tbody td').first().textContent(), fakeCustomer);
        await ro.getByRole("button", { name: `Cancel rollout ${id}` }).click();
        await page.fill("#cancel-rollout-reason", cancelReason);
        await page.click("#cancel-rollout-submit");
        await ro.locator(".rollout-state:text-is('halted')").waitFor();
        assert.equal(await ro.locator(".rollout-halt-text").textContent(), `cancelled by operator@example.com: ${cancelReason}`);
        await page.waitForTimeout(1200); // a refresh or two more
        assert.equal(await page.locator("#rollouts img, #rollouts script, #rollouts b, #rollouts i, #rollouts svg").count(), 0, "no element made from the data");
        assert.equal(await page.evaluate("window.__xss"), undefined);
        assert.equal((await apiRollout(id)).reason, reason);
        assert.deepEqual(errors, []);
    });

    it("customers: a 'vendor access suspended' badge when the customer says so, nothing when enabled or absent", async () => {
        h = await startHarness();
        for (const id of ["va1", "va2", "va3"]) await deployedStack(id);
        browser = await launch();
        const page = await browser.newPage();
        // The customer view's vendorAccess field, set on the way to the page (the API may not have it yet).
        let va1: string | undefined = "suspended";
        const markupName = `<img src=x onerror="window.__xss=1">Va3 <b>Corp</b>`;
        await page.route((u) => u.pathname === "/api/customers", async (route) => {
            const res = await route.fetch();
            const body = await res.json();
            for (const c of body.customers) {
                if (c.id === "va1" && va1 !== undefined) c.vendorAccess = va1;
                if (c.id === "va2") c.vendorAccess = "enabled";
                if (c.id === "va3") c.name = markupName;
            }
            await route.fulfill({ response: res, json: body });
        });
        await signIn(page, TOKENS.auditor, "audit@example.com");
        const row = (id: string) => page.locator(`#customers tr[data-customer-id="${id}"]`);
        await row("va1").locator(".badge-vendor").waitFor();
        assert.equal(await row("va1").locator(".badge-vendor").textContent(), "vendor access suspended");
        assert.equal(await row("va1").locator(".customer-name").textContent(), "va1 Inc.");
        assert.equal(await row("va2").locator(".badge").count(), 0, "enabled: nothing");
        assert.equal(await row("va3").locator(".badge").count(), 0, "absent: nothing");
        assert.equal(await row("va3").locator(".customer-name").textContent(), markupName);
        assert.equal(await row("va3").locator("img, b").count(), 0);
        va1 = "enabled";
        await row("va1").locator(".badge-vendor").waitFor({ state: "detached" });
        va1 = "suspended";
        await row("va1").locator(".badge-vendor").waitFor();
        assert.equal(await row("va1").locator(".badge-vendor").count(), 1, "one badge, not one per refresh");
        va1 = "suspending";
        await page.locator('#customers tr[data-customer-id="va1"] .badge-vendor', { hasText: "vendor access being suspended" }).waitFor();
        va1 = undefined;
        await row("va1").locator(".badge-vendor").waitFor({ state: "detached" });
        assert.equal(await page.evaluate("window.__xss"), undefined);
    });
});
