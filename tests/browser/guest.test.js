// The page end to end on a real kernel, the browser's half (tests/kernel/cockpit-run): Debian's
// chromium drives the page that cockpit-ws serves in the guest of run-guest --cockpit, reached
// through QEMU's port forward at the URL given (argv[2]). It assigns the e1000e (8086:10d3) to
// sys-net in the VM's Devices tab, applies, and starts sys-net in the VMs view; the guest's
// script (tests/kernel/e2e-cockpit.sh) then checks the NIC in the VM. TAP lines without numbers
// and without a plan (cockpit-run adds them); screenshots in QPCI_BROWSER_ARTIFACTS.
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");
const fs = require("fs");

const base = process.argv[2];
const PAGE = "/cockpit/@localhost/qpci/index.html";
const artifacts = process.env.QPCI_BROWSER_ARTIFACTS;
// Set by cockpit-run: how long the guest may take at most, and a file made when its run ends.
const pageWaitMs = 1000 * Number(process.env.QPCI_GUEST_TIMEOUT || 240);
const guestEnded = process.env.QPCI_GUEST_ENDED || "/nonexistent";
const t0 = Date.now();
let failed = 0;
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);

async function check(desc, fn) {
    const t = Date.now();
    try {
        await fn();
        console.log(`ok - ${desc} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        return true;
    } catch (e) {
        failed++;
        console.log(`not ok - ${desc} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        console.log(String(e && e.stack || e).split("\n").slice(0, 8).map(l => "#   " + l).join("\n"));
        return false;
    }
}
function assert(cond, what) {
    if (!cond)
        throw new Error(what);
}
async function shot(page, name) {
    await page.screenshot({ path: path.join(artifacts, "guest-" + name + ".png"), fullPage: true });
}
async function go(page, hash) {
    await page.evaluate(h => { window.location.hash = h; }, hash);
}

(async () => {
    // The guest boots, starts libvirtd and then cockpit-ws: until then QEMU's forward answers
    // nothing (or resets the connection).
    const served = await check("cockpit-ws in the guest serves the page through QEMU's port forward", async () => {
        let last = "";
        for (;;) {
            try {
                const r = await fetch(base + PAGE, { signal: AbortSignal.timeout(5000) });
                if (r.status === 200)
                    break;
                last = "status " + r.status;
            } catch (e) {
                last = String(e.cause || e);
            }
            // The guest's own bound, not a guess: its preparation (initrd, packages) and boot
            // take minutes on a loaded machine. A guest that ended early ends the wait.
            assert(!fs.existsSync(guestEnded), "the guest's run ended before the page answered: " + last);
            assert(Date.now() - t0 < pageWaitMs, `nothing after ${pageWaitMs / 1000} s: ` + last);
            await new Promise(r => setTimeout(r, 1000));
        }
        console.log(`# the page answered ${secs()} s after the browser's start`);
    });
    if (!served)
        process.exit(1);
    const browser = await chromium.launch({ executablePath: "/usr/lib/chromium/chromium", headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on("pageerror", e => errors.push("pageerror: " + e.message));
    let nic = null;
    try {
        await check("the page loads, with administrative access (a local session of root)", async () => {
            await page.goto(base + PAGE + "#/devices");
            await page.waitForSelector("body[data-ready=yes]", { timeout: 60000 });
            assert(await page.getAttribute("body", "data-admin") === "yes", "not an admin session");
        });
        await check("host devices: the guest's e1000e (8086:10d3) is listed, on e1000e", async () => {
            await page.waitForSelector("table.qp-devices tbody tr[data-id]", { timeout: 30000 });
            const rows = await page.$$eval("table.qp-devices tbody tr[data-id]", trs => trs.map(t => [t.dataset.id, t.textContent]));
            const row = rows.find(([, text]) => text.includes("8086:10d3"));
            assert(row, "no 8086:10d3 among " + rows.map(r => r[0]));
            nic = row[0];
            assert(row[1].includes("e1000e"), "not on e1000e: " + row[1]);
        });
        await shot(page, "devices");
        // The guest's script makes sys-net once it starts, after cockpit-ws: until then, reload.
        await check("VMs view: sys-net, halted", async () => {
            await go(page, "#/vms");
            for (let i = 0; !await page.$("tr[data-vm=sys-net]"); i++) {
                assert(i < 60, "no sys-net after 60 s");
                await page.waitForTimeout(1000);
                await page.click("#refresh");
            }
            assert((await page.textContent("tr[data-vm=sys-net]")).includes("Halted"), await page.textContent("tr[data-vm=sys-net]"));
        });
        await check(`VM settings of sys-net, Devices tab: the e1000e ${nic} added; the rules allow it`, async () => {
            assert(nic, "no NIC found");
            await go(page, "#/vm/sys-net/devices");
            await page.waitForSelector(`#available option[value='${nic}']`, { timeout: 30000 });
            await page.selectOption("#available", nic);
            await page.click("#dev-add");
            await page.waitForSelector(`#selected option[value='${nic}']`);
            await page.waitForSelector(".qp-verdict-ok", { timeout: 30000 });
            const preview = await page.$$eval(".qp-commands li", l => l.map(x => x.textContent));
            assert(JSON.stringify(preview) === JSON.stringify([`qvm-pci attach -p sys-net ${nic}`]), "preview " + preview);
        });
        await shot(page, "vm-devices");
        await check("Apply runs qvm-pci attach -p and says it is done", async () => {
            await page.click("#devices-apply");
            await page.waitForSelector(".qp-action-out .qp-alert-success", { timeout: 60000 });
        });
        await shot(page, "vm-devices-applied");
        await check("VMs view: Start runs qvm-start sys-net, and the page shows it running", async () => {
            await go(page, "#/vms");
            await page.waitForSelector("tr[data-vm=sys-net] button[data-action=start]");
            const t = Date.now();
            await page.click("tr[data-vm=sys-net] button[data-action=start]");
            await page.waitForSelector("tr[data-vm=sys-net] button[data-action='shut down']", { timeout: 180000 });
            console.log(`# the page showed sys-net running ${((Date.now() - t) / 1000).toFixed(1)} s after Start`);
            assert((await page.textContent("tr[data-vm=sys-net]")).includes(nic), "its devices do not show " + nic);
        });
        await shot(page, "vms-running");
        await check("host devices: the e1000e used by sys-net, marked running, on vfio-pci", async () => {
            await go(page, "#/devices");
            await page.click("#refresh");
            const cell = `tr[data-id='${nic}'] .qp-usedby-cell`;
            await page.waitForSelector(cell + ":has-text('sys-net')", { timeout: 30000 });
            assert((await page.textContent(cell)).includes("running"), "not marked running: " + await page.textContent(cell));
            assert((await page.textContent(`tr[data-id='${nic}']`)).includes("vfio-pci"), await page.textContent(`tr[data-id='${nic}']`));
        });
        await shot(page, "devices-used");
        await check("no script error on the page", async () => {
            assert(errors.length === 0, errors.join("\n"));
        });
    } catch (e) {
        failed++;
        console.log("not ok - the scenario stopped: " + String(e && e.stack || e).split("\n")[0]);
    } finally {
        await browser.close();
    }
    console.log(`# the browser's part: ${secs()} s`);
    process.exit(failed ? 1 : 0);
})();
