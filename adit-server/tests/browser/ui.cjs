// Browser end-to-end test of the web UI in headless Chromium, driven by playwright-core.
// Started by adit-server/tests/ui_browser.rs, which runs `adit serve` with two Orthancs and
// passes the setup in environment variables. Every step prints "ok <step>"; the first failure
// prints "FAILED <step>: <reason>" and exits 1. Results the Rust side checks against the
// database and Orthanc are printed as "RESULT <name>=<value>".
"use strict";

const path = require("path");
const fs = require("fs");
const { chromium } = require(path.join(process.env.ADIT_NODE_MODULES, "playwright-core"));

const BASE = process.env.ADIT_URL;
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
};
const SHOTS = process.env.ADIT_UPDATE_SCREENSHOTS === "1" ? process.env.ADIT_SCREENSHOT_DIR : null;
// Generous: CI machines are small and busy.
const LONG = 120_000;

async function shot(page, name) {
  if (SHOTS) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }
}

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAILED ${name}: ${e && e.stack ? e.stack : e}`);
    throw e;
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function login(page, username, password) {
  await page.goto(`${BASE}/jobs/`);
  // Pages redirect to the login form and come back after it.
  expect(page.url().includes("/login/?next="), `not sent to login: ${page.url()}`);
  await page.getByLabel("User name", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${BASE}/jobs/`);
  expect((await page.textContent("#nav-user")).trim() === username, "user not shown");
}

// Waits until the job page shows `code` as status, counting page loads meanwhile: live
// progress must arrive without a reload.
async function waitStatus(page, code, timeout) {
  await page.waitForFunction(
    (c) => document.getElementById("job-status").dataset.status === c,
    code,
    { timeout },
  );
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.ADIT_CHROMIUM || "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const failures = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));

    await step("wrong password is refused", async () => {
      await page.goto(`${BASE}/login/`);
      await shot(page, "login");
      await page.getByLabel("User name", { exact: true }).fill(env("ADIT_USER"));
      await page.getByLabel("Password", { exact: true }).fill("wrong");
      await page.getByRole("button", { name: "Log in" }).click();
      const error = await page.textContent("#login-error");
      expect(error.includes("Invalid username or password."), `error: ${error}`);
    });

    await step("log in", () => login(page, env("ADIT_USER"), env("ADIT_PASSWORD")));

    let jobUrl;
    await step("search streams the studies into the table", async () => {
      await page.goto(`${BASE}/selective-transfer/`);
      await page.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await page.getByLabel("Destination", { exact: true }).selectOption({ label: env("ADIT_DESTINATION") });
      await page.getByLabel("Patient ID", { exact: true }).fill(env("ADIT_PATIENT"));
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForFunction(() => document.getElementById("search-form").dataset.state === "done", null, { timeout: LONG });
      const status = await page.textContent("#search-status");
      expect(status.includes("2 studies found."), `search status: ${status}`);
      const rows = await page.locator("#results-body tr").count();
      expect(rows === 2, `rows: ${rows}`);
      await shot(page, "selective-transfer");
    });

    await step("a transfer without pseudonym is refused with a message", async () => {
      await page.locator("#results-body input[name=studies]").first().check();
      await page.getByRole("button", { name: "Start transfer" }).click();
      await page.waitForSelector("#form-errors");
      const text = await page.textContent("#form-errors");
      expect(text.includes("pseudonym is required"), `errors: ${text}`);
    });

    await step("transfer two studies with a pseudonym", async () => {
      await page.locator("#select-all").check();
      await page.locator("#advanced-options summary").click();
      await page.getByLabel(/^Pseudonym/).fill(env("ADIT_PSEUDONYM"));
      await page.getByLabel("Trial protocol ID", { exact: true }).fill("TRIAL-UI");
      await Promise.all([
        page.waitForURL(/\/jobs\/\d+\/$/, { timeout: LONG }),
        page.getByRole("button", { name: "Start transfer" }).click(),
      ]);
      jobUrl = page.url();
      const flash = await page.textContent("#flash");
      expect(flash.includes("started with 2 studies"), `flash: ${flash}`);
    });

    await step("the job reaches Success with live progress", async () => {
      let loads = 0;
      page.on("load", () => { loads += 1; });
      await waitStatus(page, "SU", LONG);
      expect(loads === 0, `the page reloaded ${loads} times`);
      const instances = (await page.textContent("#job-instances")).trim();
      const [done, expected] = instances.split("/").map((s) => parseInt(s, 10));
      expect(done > 0 && done === expected, `instances: ${instances}`);
      const bar = await page.getAttribute("#job-progress", "aria-valuenow");
      expect(bar === "100", `progress: ${bar}`);
      const tasks = await page.locator("#task-table tbody tr .status-SU").count();
      expect(tasks === 2, `succeeded tasks shown: ${tasks}`);
      // No cancel button on a finished job; restart is staff-only.
      expect((await page.locator("[data-action=cancel]").count()) === 0, "cancel shown on a finished job");
      console.log(`RESULT selective_job=${jobUrl.match(/\/jobs\/(\d+)\//)[1]}`);
      await shot(page, "job-detail");
    });

    await step("a broken batch sheet shows every error with line and column", async () => {
      await page.goto(`${BASE}/batch-transfer/`);
      await page.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await page.getByLabel("Destination", { exact: true }).selectOption({ label: env("ADIT_DESTINATION") });
      await page.getByLabel("Project name", { exact: true }).fill("UI test");
      await page.getByLabel(/^Batch file/).setInputFiles(env("ADIT_BAD_SHEET"));
      await page.getByRole("button", { name: "Create job" }).click();
      await page.waitForSelector("#sheet-issues");
      const rows = await page.locator("#sheet-issues tbody tr").allTextContents();
      const joined = rows.join(" | ");
      expect(rows.length >= 2, `issues: ${joined}`);
      expect(rows.some((r) => r.includes("2") && r.includes("PatientID") && r.includes("invalid wildcard")), `no PatientID issue on line 2: ${joined}`);
      expect(rows.some((r) => r.includes("3") && r.includes("StudyInstanceUID")), `no StudyInstanceUID issue on line 3: ${joined}`);
      // The form keeps what was typed.
      expect((await page.getByLabel("Project name", { exact: true }).inputValue()) === "UI test", "project name lost");
      await shot(page, "batch-transfer-errors");
    });

    await step("a good batch sheet starts a job that succeeds", async () => {
      await page.getByLabel(/^Batch file/).setInputFiles(env("ADIT_GOOD_SHEET"));
      await Promise.all([
        page.waitForURL(/\/jobs\/\d+\/$/, { timeout: LONG }),
        page.getByRole("button", { name: "Create job" }).click(),
      ]);
      await waitStatus(page, "SU", LONG);
      console.log(`RESULT batch_job=${page.url().match(/\/jobs\/(\d+)\//)[1]}`);
    });

    await step("batch query results export feeds a batch transfer", async () => {
      await page.goto(`${BASE}/batch-query/`);
      await page.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await page.getByLabel("Project name", { exact: true }).fill("UI query");
      await page.getByLabel(/^Batch file/).setInputFiles(env("ADIT_QUERY_SHEET"));
      await Promise.all([
        page.waitForURL(/\/jobs\/\d+\/$/, { timeout: LONG }),
        page.getByRole("button", { name: "Create job" }).click(),
      ]);
      await waitStatus(page, "SU", LONG);
      await page.locator("#results-link").click();
      const rows = await page.locator("#results-table tbody tr").count();
      expect(rows === 2, `result rows: ${rows}`);
      await shot(page, "batch-query-results");
      const csv = await page.evaluate(async () => (await fetch(document.getElementById("export-csv").href)).text());
      expect(csv.includes("StudyInstanceUID") && csv.includes("SUBJ-Q"), `export: ${csv}`);
      const file = path.join(env("ADIT_TMP"), "exported.csv");
      fs.writeFileSync(file, csv);
      await page.goto(`${BASE}/batch-transfer/`);
      await page.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await page.getByLabel("Destination", { exact: true }).selectOption({ label: env("ADIT_DESTINATION") });
      await page.getByLabel("Project name", { exact: true }).fill("From the query");
      await page.getByLabel(/^Batch file/).setInputFiles(file);
      await Promise.all([
        page.waitForURL(/\/jobs\/\d+\/$/, { timeout: LONG }),
        page.getByRole("button", { name: "Create job" }).click(),
      ]);
      await waitStatus(page, "SU", LONG);
      console.log(`RESULT fed_job=${page.url().match(/\/jobs\/(\d+)\//)[1]}`);
    });

    let slowJob;
    await step("cancel a running job", async () => {
      await page.goto(`${BASE}/selective-transfer/`);
      await page.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await page.getByLabel("Destination", { exact: true }).selectOption({ label: env("ADIT_SLOW_DESTINATION") });
      await page.getByLabel("Patient ID", { exact: true }).fill(env("ADIT_SLOW_PATIENT"));
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForFunction(() => document.getElementById("search-form").dataset.state === "done", null, { timeout: LONG });
      await page.locator("#select-all").check();
      await page.locator("#advanced-options summary").click();
      await page.getByLabel(/^Pseudonym/).fill("SUBJ-SLOW");
      await Promise.all([
        page.waitForURL(/\/jobs\/\d+\/$/, { timeout: LONG }),
        page.getByRole("button", { name: "Start transfer" }).click(),
      ]);
      slowJob = page.url().match(/\/jobs\/(\d+)\//)[1];
      // Progress arrives live; cancel once instances move.
      await page.waitForFunction(
        () => parseInt(document.getElementById("job-instances").textContent, 10) > 0,
        null,
        { timeout: LONG },
      );
      await shot(page, "job-running");
      await page.locator("[data-action=cancel]").click();
      await page.waitForURL(`${BASE}/jobs/${slowJob}/`);
      await waitStatus(page, "CA", LONG);
      expect((await page.locator("[data-action=resume]").count()) === 1, "no resume button on a canceled job");
      console.log(`RESULT canceled_job=${slowJob}`);
    });

    await step("job list filters by status", async () => {
      await page.goto(`${BASE}/jobs/?status=CA`);
      const ids = await page.locator("#job-table tbody tr[id^=job-]").evaluateAll((rows) => rows.map((r) => r.id));
      expect(ids.length === 1 && ids[0] === `job-${slowJob}`, `canceled jobs: ${ids}`);
      await page.goto(`${BASE}/jobs/`);
      await shot(page, "jobs");
    });

    await step("phone width keeps the menu reachable", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${BASE}/selective-transfer/`);
      await page.getByRole("button", { name: "Toggle navigation" }).click();
      await page.getByRole("link", { name: "Jobs" }).waitFor({ state: "visible" });
      await shot(page, "phone");
    });

    await step("API token: created with expiry, shown once, works, revoked", async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${BASE}/token-authentication/`);
      await page.getByLabel("Description", { exact: true }).fill("browser test");
      await page.getByLabel(/^Expires after/).fill("7");
      await page.getByRole("button", { name: "Create token" }).click();
      const token = (await page.textContent("#new-token")).trim();
      expect(/^[0-9a-f]{40}$/.test(token), `token: ${token}`);
      await shot(page, "tokens");
      const who = await page.evaluate(async (t) => {
        const r = await fetch("/api/user/", { headers: { Authorization: `Token ${t}` }, credentials: "omit" });
        return r.ok ? (await r.json()).username : `HTTP ${r.status}`;
      }, token);
      expect(who === env("ADIT_USER"), `token user: ${who}`);
      await page.goto(`${BASE}/token-authentication/`);
      expect((await page.locator("#new-token").count()) === 0, "token shown twice");
      const rows = page.locator("#token-table tbody tr[id^=token-]");
      expect((await rows.count()) === 1, "token not listed");
      expect((await rows.first().textContent()).includes(token.slice(0, 4)), "wrong token listed");
      await rows.first().getByRole("button", { name: "Revoke" }).click();
      await page.waitForSelector("#flash");
      expect((await page.locator("#token-table tbody tr[id^=token-]").count()) === 0, "token not revoked");
      const after = await page.evaluate(async (t) => {
        const r = await fetch("/api/user/", { headers: { Authorization: `Token ${t}` }, credentials: "omit" });
        return r.status;
      }, token);
      expect(after === 401, `revoked token answered ${after}`);
    });

    await step("DICOM explorer: server, patient, study, series", async () => {
      await page.goto(`${BASE}/dicom-explorer/`);
      await page.getByRole("link", { name: new RegExp(env("ADIT_SOURCE")) }).click();
      await page.getByLabel("Patient ID", { exact: true }).fill(env("ADIT_PATIENT"));
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForSelector(".card");
      const studies = page.locator(".card tbody tr");
      expect((await studies.count()) === 2, `studies: ${await studies.count()}`);
      await shot(page, "explorer");
      await studies.first().locator("a").click();
      await page.waitForSelector("#series-table");
      const series = await page.locator("#series-table tbody tr").count();
      expect(series === 2, `series: ${series}`);
      const attrs = await page.textContent("#study-attributes");
      expect(attrs.includes(env("ADIT_PATIENT")), "patient id not among the attributes");
    });

    await step("log out", async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${BASE}/`);
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${BASE}/login/`);
      await page.goto(`${BASE}/jobs/`);
      expect(page.url().includes("/login/"), "still logged in");
    });

    await step("a user without node access does not see the node", async () => {
      const other = await (await browser.newContext()).newPage();
      await login(other, env("ADIT_OTHER_USER"), env("ADIT_OTHER_PASSWORD"));
      await other.goto(`${BASE}/selective-transfer/`);
      const sources = await other.locator("#source option").allTextContents();
      const destinations = await other.locator("#destination option").allTextContents();
      expect(!sources.includes(env("ADIT_SOURCE")), `sources: ${sources}`);
      expect(!destinations.includes(env("ADIT_DESTINATION")), `destinations: ${destinations}`);
      // Nor can the search be forced with the node's id.
      const body = await other.evaluate(async (id) => {
        const r = await fetch(`/selective-transfer/search?source=${id}&patient_id=x`);
        return r.text();
      }, env("ADIT_SOURCE_ID"));
      expect(body.includes("event: failed") && body.includes("Choose a source you have access to."), `forced search: ${body}`);
    });

    await step("staff: node list with a C-ECHO check, study download as ZIP", async () => {
      const admin = await (await browser.newContext()).newPage();
      await login(admin, "admin", env("ADIT_ADMIN_PASSWORD"));
      await admin.goto(`${BASE}/admin/nodes/`);
      const row = admin.locator("#node-table tr", { hasText: env("ADIT_SOURCE") });
      await row.getByRole("button", { name: "C-ECHO" }).click();
      await admin.waitForSelector("#flash");
      const flash = await admin.textContent("#flash");
      expect(flash.includes(`C-ECHO to ${env("ADIT_SOURCE")} succeeded`), `flash: ${flash}`);
      await shot(admin, "nodes");
      // Staff may download a study as a ZIP straight from the results.
      await admin.goto(`${BASE}/selective-transfer/`);
      await admin.getByLabel("Source", { exact: true }).selectOption({ label: env("ADIT_SOURCE") });
      await admin.getByLabel("Patient ID", { exact: true }).fill(env("ADIT_PATIENT"));
      await admin.getByRole("button", { name: "Search" }).click();
      await admin.waitForFunction(() => document.getElementById("search-form").dataset.state === "done", null, { timeout: LONG });
      const href = await admin.locator("#results-body a[download]").first().getAttribute("href");
      const zip = await admin.evaluate(async (url) => {
        const r = await fetch(url);
        const bytes = new Uint8Array(await r.arrayBuffer());
        return { status: r.status, type: r.headers.get("content-type"), size: bytes.length, magic: String.fromCharCode(bytes[0], bytes[1]) };
      }, href);
      expect(zip.status === 200 && zip.type === "application/zip" && zip.magic === "PK" && zip.size > 1000, `zip: ${JSON.stringify(zip)}`);
      // Plain users do not get the page.
      const plain = await (await browser.newContext()).newPage();
      await login(plain, env("ADIT_OTHER_USER"), env("ADIT_OTHER_PASSWORD"));
      const res = await plain.goto(`${BASE}/admin/nodes/`);
      expect(res.status() === 403, `non-staff got ${res.status()}`);
    });

    await step("staff: overview counts the jobs, audit log has the jobs started in the browser", async () => {
      const admin = await (await browser.newContext()).newPage();
      await login(admin, "admin", env("ADIT_ADMIN_PASSWORD"));
      await admin.getByRole("button", { name: "Admin", exact: true }).click();
      await admin.getByRole("link", { name: "Overview", exact: true }).click();
      await admin.waitForURL(`${BASE}/admin/overview/`);
      const cells = await admin.locator("#count-selective_transfer td").allTextContents();
      expect(Number(cells[cells.length - 1]) >= 1, `selective transfer counts: ${cells}`);
      await admin.goto(`${BASE}/admin/audit/`);
      await admin.getByLabel("Action", { exact: true }).selectOption("job_create");
      await admin.getByRole("button", { name: "Filter" }).click();
      await admin.waitForURL(/action=job_create/);
      const actions = await admin.locator("#audit-table tbody td:nth-child(3)").allTextContents();
      expect(actions.length > 0 && actions.every((a) => a === "job_create"), `actions: ${actions}`);
      await shot(admin, "audit");
      const plain = await (await browser.newContext()).newPage();
      await login(plain, env("ADIT_OTHER_USER"), env("ADIT_OTHER_PASSWORD"));
      const res = await plain.goto(`${BASE}/admin/audit/`);
      expect(res.status() === 403, `non-staff got ${res.status()}`);
    });

    await step("staff: announcement and maintenance mode; a user sees the maintenance page, then the announcement", async () => {
      const announcement = "Downtime on Friday\nfrom 8 to 10 <b>sharp</b>";
      // The user signs in first: while maintenance is on, pages answer 503 instead of
      // sending to the login form.
      const plain = await (await browser.newContext()).newPage();
      await login(plain, env("ADIT_OTHER_USER"), env("ADIT_OTHER_PASSWORD"));
      const admin = await (await browser.newContext()).newPage();
      await login(admin, "admin", env("ADIT_ADMIN_PASSWORD"));
      await admin.getByRole("button", { name: "Admin", exact: true }).click();
      await admin.getByRole("link", { name: "Announcement, maintenance, mail" }).click();
      await admin.waitForURL(`${BASE}/admin/site/`);
      await admin.fill("#announcement-text", announcement);
      await admin.getByRole("button", { name: "Save announcement" }).click();
      await admin.waitForSelector("#flash");
      expect((await admin.textContent("#flash")).includes("announcement was saved"), "announcement not saved");
      await admin.getByRole("button", { name: "Turn maintenance mode on" }).click();
      await admin.waitForSelector("#maintenance-banner");
      await shot(admin, "admin-site");
      await admin.goto(`${BASE}/admin/users/`);
      expect(await admin.isVisible("#maintenance-banner"), "no banner for staff");
      await shot(admin, "admin-users");

      let res = await plain.goto(`${BASE}/`);
      expect(res.status() === 503, `user got ${res.status()} in maintenance`);
      expect(await plain.isVisible("#maintenance"), "no maintenance page");
      expect(!(await plain.isVisible("#announcement")), "announcement shown in maintenance");
      await shot(plain, "maintenance");
      const api = await plain.evaluate(async () => (await fetch("/api/user/")).status);
      expect(api === 503, `API answered ${api} in maintenance`);

      await admin.goto(`${BASE}/admin/site/`);
      await admin.getByRole("button", { name: "Turn maintenance mode off" }).click();
      await admin.waitForSelector("#maintenance-on");
      expect(!(await admin.isVisible("#maintenance-banner")), "banner after maintenance");
      res = await plain.goto(`${BASE}/`);
      expect(res.status() === 200, `user got ${res.status()} after maintenance`);
      // Plain text with its line break; the markup is shown, not applied.
      const shown = await plain.innerText("#announcement");
      expect(shown.trim() === announcement, `announcement shown as ${JSON.stringify(shown)}`);
      expect((await plain.locator("#announcement b").count()) === 0, "markup in the announcement applied");
      await shot(plain, "home-announcement");
    });

    expect(failures.length === 0, failures.join("; "));
  } finally {
    await browser.close();
  }
}

main().then(
  () => { console.log("browser test passed"); },
  () => { process.exit(1); },
);
