// The page in real headless Chromium (Debian's chromium driven by playwright-core): an approver signs in with
// a token, approves a pending access request and watches it become active.
import { strict as assert } from "assert";
import * as fs from "fs";
import { chromium, Browser, Page } from "playwright-core";
import { csrFor, customerConfig, startHarness, TOKENS, until, Harness } from "./helpers";

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

    before(function () {
        if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian chromium package (.ci/run does)`);
    });
    afterEach(async () => {
        await browser?.close();
        await h?.close();
        browser = undefined;
        h = undefined;
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
});
