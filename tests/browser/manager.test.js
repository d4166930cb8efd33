// The browser of `qpci manager` in the test (its BROWSER): run by Cockpit's cockpit-desktop inside
// its own user and network namespace with the page's URL. Loads the page in chromium, checks it
// shows the host's devices, then tells tests/browser/run it is up (QPCI_MANAGER_DIR/ready, with
// this network namespace's id) and stays until the run has tried the port from outside
// (QPCI_MANAGER_DIR/checked). Results as TAP lines in QPCI_MANAGER_DIR/tap.
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const dir = process.env.QPCI_MANAGER_DIR;
const url = process.argv[2];
const lines = [];
const result = (ok, desc) => lines.push((ok ? "ok" : "not ok") + " - " + desc);

(async () => {
    const browser = await chromium.launch({ executablePath: "/usr/lib/chromium/chromium", headless: true });
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.goto(url);
        await page.waitForSelector("body[data-ready=yes]", { timeout: 20000 });
        const rows = await page.$$("table.qp-devices tbody tr:not(.qp-bridge-row)");
        result(rows.length === Number(process.env.QPCI_MANAGER_ROWS),
               `qpci manager: the page shows the host's ${process.env.QPCI_MANAGER_ROWS} devices (it shows ${rows.length}) at ${url}`);
        result(await page.getAttribute("body", "data-admin") === "yes", "qpci manager: run as root, the session has administrative access");
        await page.screenshot({ path: path.join(process.env.QPCI_BROWSER_ARTIFACTS, "manager-1280x800.png") });
    } catch (e) {
        result(false, "qpci manager: the page did not load: " + String(e).split("\n")[0]);
    }
    fs.writeFileSync(path.join(dir, "tap"), lines.join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "ready"), fs.readlinkSync("/proc/self/ns/net"));
    for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, "checked")); i++)
        await new Promise(r => setTimeout(r, 50));
    await browser.close();
})();
