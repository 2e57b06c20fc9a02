// The page in real headless Chromium (Debian's chromium driven by playwright-core): an approver signs in with
// a token, approves a pending access request and watches it become active.
import { strict as assert } from "assert";
import * as fs from "fs";
import { chromium, Browser } from "playwright-core";
import { csrFor, customerConfig, startHarness, TOKENS, until, Harness } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";

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
        assert.equal(await row.locator("button").count(), 0);
        await page.click("#signout");
        await page.fill("#token", TOKENS.auditor);
        await page.click("#signin button[type=submit]");
        await page.locator("#audit tbody td:has-text('access.requested')").first().waitFor();
        // Job logs open on click.
        await page.locator(`#jobs tr[data-job-id="${created.body.job.id}"]`).click();
        await page.locator("#job-log:has-text('succeeded')").waitFor();
    });
});
