// The page end to end on a real kernel, the browser's half (tests/kernel/cockpit-run): Debian's
// chromium drives the page that cockpit-ws serves in the guest of run-guest --cockpit, reached
// through QEMU's port forward at the URL given (argv[2]). It assigns the e1000e (8086:10d3) to
// sys-net in the VM's Devices tab, applies, and starts sys-net in the VMs view; the guest's
// script (tests/kernel/e2e-cockpit.sh) then checks the NIC in the VM. Once that script says the
// NIC works (its output, followed in QPCI_GUEST_OUTPUT), the Devices tab of the running sys-net
// removes the e1000e and applies (a hot-unplug), adds it and applies (a hot-plug); once the script
// says it works again, Shut down in the VMs view. TAP lines without numbers and without a plan
// (cockpit-run adds them), each with its time and the time since the start; screenshots in
// QPCI_BROWSER_ARTIFACTS.
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
const guestOutput = process.env.QPCI_GUEST_OUTPUT || "/nonexistent";
const t0 = Date.now();
let failed = 0;
const secs = (since = t0) => ((Date.now() - since) / 1000).toFixed(1);

async function check(desc, fn) {
    const t = Date.now();
    try {
        await fn();
        console.log(`ok - ${desc} (${secs(t)} s, at ${secs()} s)`);
        return true;
    } catch (e) {
        failed++;
        console.log(`not ok - ${desc} (${secs(t)} s, at ${secs()} s)`);
        console.log(String(e && e.stack || e).split("\n").slice(0, 8).map(l => "#   " + l).join("\n"));
        return false;
    }
}
// A check the next steps need: after its failure the scenario stops.
class Stop extends Error {}
async function must(desc, fn) {
    if (!await check(desc, fn))
        throw new Stop(desc);
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
// Until the guest's script has printed "# step: STEP" (e2e-cockpit.sh: the VM is ready for the
// next action), for as long as the guest's run may last; "# step: give up" ends the wait.
async function guestSays(step) {
    for (;;) {
        let out = "";
        try {
            out = fs.readFileSync(guestOutput, "utf8");
        } catch (e) { /* not there before the guest boots */ }
        const lines = out.split("\n");
        if (lines.includes("# step: " + step))
            return;
        assert(!lines.includes("# step: give up"), "the guest's script gave up after a failed check, before: " + step);
        assert(!fs.existsSync(guestEnded), "the guest's run ended without saying: " + step);
        assert(Date.now() - t0 < pageWaitMs, `the guest did not say "${step}" within ${pageWaitMs / 1000} s`);
        await new Promise(r => setTimeout(r, 500));
    }
}
// Apply in the VM's Devices tab: the answer, which must be a success, and how long it took.
async function apply(page) {
    const t = Date.now();
    await page.click("#devices-apply");
    const answer = await page.waitForSelector(".qp-action-out .qp-alert-success, .qp-action-out .qp-alert-danger", { timeout: 120000 });
    assert(await answer.evaluate(a => a.classList.contains("qp-alert-success")), "refused: " + await page.textContent(".qp-action-out"));
    console.log(`# Apply answered after ${secs(t)} s`);
}
async function preview(page) {
    return JSON.stringify(await page.$$eval(".qp-commands li", l => l.map(x => x.textContent)));
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
            const want = JSON.stringify([`qvm-pci attach -p sys-net ${nic}`]);
            assert(await preview(page) === want, "preview " + await preview(page));
        });
        await shot(page, "vm-devices");
        await check("Apply runs qvm-pci attach -p and says it is done", () => apply(page));
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
        // The e1000e's row in the host devices once it shows what is wanted (after a Refresh).
        const hostRow = async (want, what) => {
            await go(page, "#/devices");
            await page.click("#refresh");
            await page.waitForFunction(([id, w]) => {
                const cell = document.querySelector(`tr[data-id='${id}'] .qp-usedby-cell`);
                return cell && cell.textContent.includes("sys-net") === w;
            }, [nic, want], { timeout: 30000 }).catch(async () => {
                throw new Error(what + ": " + await page.textContent(`tr[data-id='${nic}']`));
            });
            return page.textContent(`tr[data-id='${nic}']`);
        };
        const usedByRunning = async () => {
            const row = await hostRow(true, "not used by sys-net");
            assert(row.includes("running"), "not marked running: " + row);
            assert(row.includes("vfio-pci"), "not on vfio-pci: " + row);
        };
        await check("host devices: the e1000e used by sys-net, marked running, on vfio-pci", usedByRunning);
        await shot(page, "devices-used");

        // Hot-unplug and hot-plug from the Devices tab of the running sys-net, each once the
        // guest's script has seen the NIC work in it.
        await must("the guest's script saw the NIC work in sys-net", () => guestSays("the NIC works in sys-net: unplug it"));
        await must(`Devices tab of the running sys-net: it says so; the e1000e ${nic} removed, Apply previews unassign and detach`, async () => {
            await go(page, "#/vm/sys-net/devices");
            await page.waitForSelector(`#selected option[value='${nic}']`, { timeout: 30000 });
            assert((await page.textContent("#vm-pane")).includes("sys-net is running: devices added are hot-plugged"), "no hot-plug hint");
            await page.selectOption("#selected", nic);
            await page.click("#dev-remove");
            await page.waitForSelector(`#available option[value='${nic}']`);
            const want = JSON.stringify([`qvm-pci unassign sys-net ${nic}`, `qvm-pci detach sys-net ${nic}`]);
            assert(await preview(page) === want, "preview " + await preview(page));
        });
        await must("Apply hot-unplugs it (qvm-pci unassign, qvm-pci detach) and says it is done", () => apply(page));
        await shot(page, "vm-devices-unplugged");
        await check("host devices: the e1000e used by no VM, and still hidden on vfio-pci", async () => {
            const row = await hostRow(false, "still used by sys-net");
            assert(row.includes("vfio-pci"), "not on vfio-pci: " + row);
        });
        await check("VMs view: sys-net runs without PCI devices", async () => {
            await go(page, "#/vms");
            await page.waitForFunction(id => {
                const row = document.querySelector("tr[data-vm=sys-net]");
                return row && row.textContent.includes("Running") && !row.textContent.includes(id);
            }, nic, { timeout: 10000 }).catch(async () => {
                throw new Error("sys-net: " + await page.textContent("tr[data-vm=sys-net]"));
            });
        });
        await must("the guest's script saw sys-net let the e1000e go", () => guestSays("the e1000e is out of sys-net: plug it in again"));
        await must(`Devices tab of the running sys-net: the e1000e ${nic} added again; the rules allow it; Apply previews attach -p`, async () => {
            await go(page, "#/vm/sys-net/devices");
            await page.waitForSelector(`#available option[value='${nic}']`, { timeout: 30000 });
            await page.selectOption("#available", nic);
            await page.click("#dev-add");
            await page.waitForSelector(".qp-verdict-ok", { timeout: 30000 });
            const want = JSON.stringify([`qvm-pci attach -p sys-net ${nic}`]);
            assert(await preview(page) === want, "preview " + await preview(page));
        });
        await must("Apply hot-plugs it (qvm-pci attach -p) and says it is done", () => apply(page));
        await check("host devices: the e1000e used by sys-net again, marked running, on vfio-pci", usedByRunning);

        // Shut down, once the guest's script has seen the NIC work again.
        await must("the guest's script saw the NIC work in sys-net again", () => guestSays("the NIC works in sys-net again: shut it down"));
        await must("VMs view: Shut down runs qvm-shutdown sys-net and says what it did", async () => {
            await go(page, "#/vms");
            const t = Date.now();
            await page.click("tr[data-vm=sys-net] button[data-action='shut down']");
            await page.waitForSelector(".qp-action-out .qp-alert-success, .qp-action-out .qp-alert-danger", { timeout: 30000 });
            console.log(`# qvm-shutdown from the page answered after ${secs(t)} s`);
            assert(await page.$(".qp-action-out .qp-alert-success"), "refused: " + await page.textContent(".qp-action-out"));
            assert((await page.textContent(".qp-action-out .qp-command")).includes("qvm-shutdown sys-net"), "another command");
        });
        await check("VMs view: sys-net shows halted, with Start again", async () => {
            const t = Date.now();
            await page.waitForSelector("tr[data-vm=sys-net] button[data-action=start]", { timeout: 60000 });
            console.log(`# the page showed sys-net halted ${secs(t)} s after qvm-shutdown answered`);
            assert((await page.textContent("tr[data-vm=sys-net]")).includes("Halted"), await page.textContent("tr[data-vm=sys-net]"));
        });
        await shot(page, "vms-halted");
        await check("no script error on the page", async () => {
            assert(errors.length === 0, errors.join("\n"));
        });
    } catch (e) {
        if (e instanceof Stop) {
            console.log("# the scenario stopped after that failure");
        } else {
            failed++;
            console.log("not ok - the scenario stopped: " + String(e && e.stack || e).split("\n")[0]);
        }
    } finally {
        await browser.close();
    }
    console.log(`# the browser's part: ${secs()} s`);
    process.exit(failed ? 1 : 0);
})();
