// The scenarios of qpci's Cockpit page, in Debian's chromium (headless) through Playwright,
// against the cockpit-ws servers tests/browser/run starts (QPCI_WS_ADMIN: a session with
// administrative access; QPCI_WS_READONLY: one without). What the page did is checked with the
// command line (the tools on PATH, over the same fixture and libvirt daemon). TAP on stdout.
"use strict";
const { chromium } = require("playwright-core");
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const PAGE = "/cockpit/@localhost/qpci/index.html";
const artifacts = process.env.QPCI_BROWSER_ARTIFACTS;
const hostile = process.env.QPCI_HOSTILE;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let n = 0;
let failed = 0;
async function check(desc, fn) {
    n++;
    try {
        await fn();
        console.log(`ok ${n} - ${desc}`);
    } catch (e) {
        failed++;
        console.log(`not ok ${n} - ${desc}`);
        console.log(String(e && e.stack || e).split("\n").slice(0, 8).map(l => "#   " + l).join("\n"));
    }
}
function assert(cond, what) {
    if (!cond)
        throw new Error(what);
}
// The command line, with the same model of the kernel's driver core as the page's tools.
const cliEnv = Object.assign({}, process.env, { LD_PRELOAD: process.env.QPCI_DRIVER_CORE });
function cli(...argv) {
    return execFileSync(argv[0], argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: cliEnv });
}
function cliFail(...argv) { // the refusal of a command that must fail, as --json gives it
    const r = spawnSync(argv[0], argv.slice(1).concat(["--json"]), { encoding: "utf8", env: cliEnv });
    assert(r.status !== 0, argv.join(" ") + " succeeded");
    return JSON.parse(r.stdout);
}
// The page's alert says the refusal's error, reason and fix, each as the tool gave it.
async function assertRefusal(page, selector, want) {
    const got = {};
    for (const part of ["title", "reason", "fix"]) {
        const node = await page.$(selector + " .qp-alert-" + part);
        got[part] = node ? (await node.textContent()).replace(/^Fix: /, "") : null;
    }
    assert(got.title === want.error && got.reason === want.reason && got.fix === want.fix,
           "page: " + JSON.stringify(got) + "\ncli: " + JSON.stringify(want));
}
// Added to vm's selection in its open Devices tab, a device another VM has: the page names that VM
// and whether it runs, in the words of qvm-pci check.
async function assertElsewhere(page, vm, id, other, running) {
    await page.fill("#avail-filter", id.replace(/^dom0:/, ""));
    await page.dblclick(`#available option[value='${id}']`);
    const want = JSON.parse(cli("qvm-pci", "check", vm, id, "--json")).findings.find(f => f.code === "assigned-elsewhere");
    assert(want && want.vm === other && want.vm_running === running, "qvm-pci check: " + JSON.stringify(want));
    await page.waitForSelector(".qp-finding-assigned-elsewhere");
    const error = await page.textContent(".qp-finding-assigned-elsewhere .qp-finding-error");
    assert(error === want.error, "page: " + error + "\ncli: " + want.error);
    const badge = await page.textContent(".qp-finding-assigned-elsewhere .qp-finding-vm");
    assert(badge === other + (running ? ": running" : ": halted"), badge);
}
// Another card in a fixture device's slot: its ids where the kernel shows them (uevent, the
// vendor and device files, the config space).
function swapCard(bdf, vendor, device) {
    const dir = path.join(process.env.QPCI_ROOT, "sys/bus/pci/devices", bdf);
    const uevent = fs.readFileSync(path.join(dir, "uevent"), "utf8")
        .replace(/^PCI_ID=.*$/m, "PCI_ID=" + (vendor + ":" + device).toUpperCase())
        .replace(/v0000[0-9A-F]{4}d0000[0-9A-F]{4}/, "v0000" + vendor.toUpperCase() + "d0000" + device.toUpperCase());
    fs.writeFileSync(path.join(dir, "uevent"), uevent);
    fs.writeFileSync(path.join(dir, "vendor"), "0x" + vendor + "\n");
    fs.writeFileSync(path.join(dir, "device"), "0x" + device + "\n");
    const fd = fs.openSync(path.join(dir, "config"), "r+");
    const ids = Buffer.alloc(4);
    ids.writeUInt16LE(parseInt(vendor, 16), 0);
    ids.writeUInt16LE(parseInt(device, 16), 2);
    fs.writeSync(fd, ids, 0, 4, 0);
    fs.closeSync(fd);
}
// A desktop's screenshot shows the whole page; a phone's what its screen shows first.
async function shot(page, name, fullPage = !name.endsWith("-phone")) {
    await page.screenshot({ path: path.join(artifacts, name + ".png"), fullPage });
}
async function open(page, base, hash) {
    await page.goto(base + PAGE + (hash || ""));
    await page.waitForSelector("body[data-ready=yes]", { timeout: 20000 });
}
async function go(page, hash) {
    await page.evaluate(h => { window.location.hash = h; }, hash);
}
// Clicks Refresh; resolves with a function that waits until the Refresh has ended: #view is
// aria-busy meanwhile, which an observer set before the click sees however short it is.
async function refresh(page) {
    await page.evaluate(() => {
        const view = document.getElementById("view");
        window.qpciRefreshed = false;
        let busy = false;
        new MutationObserver((_, obs) => {
            busy = busy || view.hasAttribute("aria-busy");
            if (busy && !view.hasAttribute("aria-busy")) {
                obs.disconnect();
                window.qpciRefreshed = true;
            }
        }).observe(view, { attributes: true, attributeFilter: ["aria-busy"] });
    });
    await page.click("#refresh");
    return () => page.waitForFunction(() => window.qpciRefreshed, null, { timeout: 10000 });
}
// Every page error, Content-Security-Policy violation and request to another host than the
// one serving the page: none may happen.
function watchErrors(page, errors) {
    page.on("request", r => {
        const url = new URL(r.url());
        if (!["http:", "ws:", "data:"].includes(url.protocol) || (url.protocol !== "data:" && url.hostname !== "127.0.0.1"))
            errors.push("request outside the host: " + r.url());
    });
    page.on("pageerror", e => errors.push("pageerror: " + e.message));
    page.on("console", m => {
        if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text()))
            errors.push("console: " + m.text());
    });
}

async function adminSession(browser) {
    const base = process.env.QPCI_WS_ADMIN;
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const errors = [];
    watchErrors(page, errors);
    const host = JSON.parse(cli("qvm-pci", "--json"));

    await check("the page loads in the session with administrative access", async () => {
        await open(page, base, "#/devices");
        assert(await page.getAttribute("body", "data-admin") === "yes", "not an admin session");
        assert(await page.isHidden("#readonly"), "the read-only banner shows");
    });
    await check("host devices: one row per function qvm-pci --json lists, bridges as structure", async () => {
        const rows = await page.$$eval("table.qp-devices tbody tr:not(.qp-bridge-row)", trs => trs.map(t => t.dataset.id));
        const want = host.filter(d => !d.bridge).map(d => d.id);
        assert(JSON.stringify(rows.slice().sort()) === JSON.stringify(want.slice().sort()), "rows " + rows + " want " + want);
        const bridges = await page.$$eval("tr.qp-bridge-row", trs => trs.map(t => t.dataset.id));
        assert(JSON.stringify(bridges) === JSON.stringify(["dom0:00_1c.0"]), "bridge rows " + bridges);
        const order = await page.$$eval("table.qp-devices tbody tr", trs => trs.map(t => t.dataset.id));
        assert(order.indexOf("dom0:02_00.0") === order.indexOf("dom0:00_1c.0") + 1, "the NIC is not right below its bridge: " + order);
    });
    await check("a row shows class, names, vendor:device, driver, group, reset verdict and reason", async () => {
        const d = host.find(x => x.id === "dom0:00_16.0");
        const text = await page.textContent("tr[data-id='dom0:00_16.0']");
        for (const want of [d.class_name, d.vendor, d.product, d.vendor_id + ":" + d.device_id, "host: " + d.driver,
            "no reliable reset", d.strict_reset_reason])
            assert(text.includes(want), "missing " + want + " in " + text);
    });
    await check("IOMMU group column: the group, and Proxmox's 'not in a separate IOMMU group' with the others in it", async () => {
        const shared = await page.textContent("tr[data-id='dom0:00_1a.0'] .qp-group");
        assert(shared === "5not in a separate IOMMU group: with dom0:00_1a.1, dom0:00_1a.2", shared);
        const alone = await page.textContent("tr[data-id='dom0:00_19.0'] .qp-group");
        assert(alone === "4", alone);
        assert(await page.$("#no-iommu") === null, "'No IOMMU detected' on a host with one");
    });
    await check("'No IOMMU detected' above the list when qvm-pci --json gives no device a group, gone when they have one again", async () => {
        const devs = path.join(process.env.QPCI_ROOT, "sys/bus/pci/devices");
        const bdfs = fs.readdirSync(devs);
        const move = (from, to) => bdfs.forEach(b => fs.renameSync(path.join(devs, b, from), path.join(devs, b, to)));
        move("iommu_group", "iommu_group.off");
        try {
            assert(JSON.parse(cli("qvm-pci", "--json")).every(d => d.iommu_group === null), "qvm-pci still sees groups");
            await page.click("#refresh");
            await page.waitForSelector("#no-iommu");
            assert((await page.textContent("#no-iommu")).includes("boot with intel_iommu=on or amd_iommu=on"), await page.textContent("#no-iommu"));
            assert(await page.textContent("tr[data-id='dom0:00_1a.0'] .qp-group") === "none", "a group shown");
            await shot(page, "no-iommu-1280x800");
        } finally {
            move("iommu_group.off", "iommu_group");
        }
        await page.click("#refresh");
        await page.waitForSelector("#no-iommu", { state: "detached" });
    });
    await check("a product name with markup shows as text and runs nothing", async () => {
        const name = await page.textContent("tr[data-id='dom0:00_1f.3'] .qp-name");
        assert(name.includes(hostile), "got " + name);
        assert(await page.$("img") === null, "an <img> element was made");
        assert(await page.evaluate(() => window.qpciPwned) === undefined, "the onerror handler ran");
    });
    await shot(page, "devices-1280x800");
    await check("class filter USB Controller: exactly the USB controllers", async () => {
        await page.selectOption("#devices-class", "USB Controller");
        const rows = await page.$$eval("table.qp-devices tbody tr:not(.qp-bridge-row)", trs => trs.map(t => t.dataset.id));
        const want = host.filter(d => d.class.startsWith("0c03")).map(d => d.id);
        assert(JSON.stringify(rows.sort()) === JSON.stringify(want.sort()), "rows " + rows + " want " + want);
    });
    await check("regex filter: 'uhci' finds the two UHCI functions (by driver); a bad regex says so", async () => {
        await page.selectOption("#devices-class", "All");
        await page.fill("#devices-filter", "uhci");
        const rows = await page.$$eval("table.qp-devices tbody tr:not(.qp-bridge-row)", trs => trs.map(t => t.dataset.id));
        assert(JSON.stringify(rows) === JSON.stringify(["dom0:00_1a.1", "dom0:00_1a.2"]), "rows " + rows);
        await page.fill("#devices-filter", "(");
        assert((await page.textContent(".qp-field-error")).includes("Not a regular expression"), "no error for '('");
        await page.fill("#devices-filter", "");
    });
    await check("keyboard only: Tab to a device and Enter opens it", async () => {
        await page.focus("#devices-class");
        for (let i = 0; i < 40; i++) {
            await page.keyboard.press("Tab");
            if (await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("qp-dev-link")))
                break;
        }
        await page.keyboard.press("Enter");
        await page.waitForSelector("#dev-h");
        assert(page.url().includes("#/device/dom0%3A00_00.0") || page.url().includes("#/device/dom0:00_00.0"), page.url());
    });
    await check("a device opens to info: its functions, and the USB device behind it", async () => {
        await go(page, "#/device/dom0:00_1a.0");
        await page.waitForSelector("h2#dev-h:has-text('dom0:00_1a.0')");
        const text = await page.textContent("main");
        for (const want of ["dom0:00_1a.1", "dom0:00_1a.2", "3-1.2", "413c:818d", "af_flr"])
            assert(text.includes(want), "missing " + want);
    });
    await shot(page, "device-1280x800");
    await check("a refusal is shown with qpci's reason and fix, word for word as the command line says it", async () => {
        const want = cliFail("qvm-pci", "hide", "dom0:00_1a.0");
        await page.click("button[data-action=hide]");
        await page.waitForSelector(".qp-action-out .qp-alert-danger");
        await assertRefusal(page, ".qp-action-out", want);
        assert(JSON.parse(cli("qvm-pci", "info", "00:1a.0", "--json")).state === "host", "the device moved");
    });
    await shot(page, "refusal-1280x800");
    await check("the host's disk controller: its page says what the host uses it for; Hide gets the guard's refusal, as the command line words it", async () => {
        const info = JSON.parse(cli("qvm-pci", "info", "00:1f.2", "--json"));
        assert(info.host_uses, "the fixture's root filesystem is not on 00:1f.2");
        await go(page, "#/device/dom0:00_1f.2");
        await page.waitForSelector(".qp-host-uses");
        const said = await page.textContent(".qp-host-uses .qp-alert-title");
        assert(said === "The host uses it: " + info.host_uses, said);
        const want = cliFail("qvm-pci", "hide", "--with-group", "dom0:00_1f.2");
        assert(want.code === "guarded", JSON.stringify(want));
        await page.check("#hide-group");
        await page.click("button[data-action=hide]");
        await page.waitForSelector(".qp-action-out .qp-alert-danger");
        await assertRefusal(page, ".qp-action-out", want);
    });
    await shot(page, "device-guarded-1280x800");
    await check("with administrative access, Hide, Reset and Unhide on a device's page move it, and qvm-pci says the same", async () => {
        await go(page, "#/device/dom0:00_19.0");
        await page.waitForSelector("h2#dev-h:has-text('dom0:00_19.0')");
        await page.click("button[data-action=hide]");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        assert((await page.textContent(".qp-action-out .qp-alert-success")).includes("dom0:00_19.0: e1000e → vfio-pci"),
               await page.textContent(".qp-action-out"));
        const hidden = JSON.parse(cli("qvm-pci", "info", "00:19.0", "--json"));
        assert(hidden.state === "hidden" && hidden.driver === "vfio-pci" && hidden.hidden_from === "e1000e", JSON.stringify(hidden));
        assert(/^dom0:00_19\.0 .* hidden: vfio-pci \(by qpci, from e1000e\)/m.test(cli("qvm-pci", "-v")), cli("qvm-pci", "-v"));
        await page.waitForSelector("main dd:has-text('hidden: vfio-pci (from e1000e)')");
        await shot(page, "device-hidden-1280x800");

        const reset = JSON.parse(cli("qvm-pci", "reset", "00:19.0", "--json"));
        await page.click("button[data-action=reset]");
        await page.waitForSelector(`.qp-action-out .qp-alert-success:has-text('dom0:00_19.0 was reset (${reset.method}).')`);

        await page.click("button[data-action=unhide]");
        await page.waitForSelector(".qp-action-out .qp-alert-success:has-text('dom0:00_19.0: vfio-pci → e1000e')");
        const back = JSON.parse(cli("qvm-pci", "info", "00:19.0", "--json"));
        assert(back.state === "host" && back.driver === "e1000e", JSON.stringify(back));
        await page.waitForSelector("main dd:has-text('host: e1000e')");
    });
    await check("Permissive on a device pciback holds: Qubes' warning beside it; on, then off, as qvm-pci info lists it; Unhide gives it back", async () => {
        cli("qvm-pci", "hide", "--driver", "pciback", "dom0:00_1b.0");
        await go(page, "#/device/dom0:00_1b.0");
        await page.waitForSelector("main dd:has-text('hidden: pciback')");
        assert((await page.textContent(".qp-warn-permissive")).includes("VT-d Interrupt Remapping"), "no warning");
        await page.click("button[data-action=permissive]");
        await page.waitForSelector(".qp-action-out .qp-alert-success:has-text('dom0:00_1b.0 is permissive')");
        assert(!(await page.textContent(".qp-action-out")).includes("Kept hidden"), await page.textContent(".qp-action-out"));
        assert(JSON.parse(cli("qvm-pci", "info", "00:1b.0", "--json")).pciback_permissive === true, "qvm-pci: not permissive");
        await page.click("button[data-action='permissive off']");
        await page.waitForSelector(".qp-action-out .qp-alert-success:has-text('dom0:00_1b.0 is not permissive')");
        assert(JSON.parse(cli("qvm-pci", "info", "00:1b.0", "--json")).pciback_permissive === false, "qvm-pci: still permissive");
        await page.click("button[data-action=unhide]");
        await page.waitForSelector(".qp-action-out .qp-alert-success:has-text('dom0:00_1b.0: pciback → snd_hda_intel')");
        const back = JSON.parse(cli("qvm-pci", "info", "00:1b.0", "--json"));
        assert(back.state === "host" && back.driver === "snd_hda_intel", JSON.stringify(back));
    });

    await check("USB finder: an lsusb line names its controller and what goes along", async () => {
        await go(page, "#/usb");
        await page.fill("#usb-query", "Bus 003 Device 003: ID 413c:818d Dell Computer Corp.");
        await page.press("#usb-query", "Enter");
        await page.waitForSelector(".qp-result");
        assert((await page.textContent(".qp-result")).includes("It is behind dom0:00_1a.0"), await page.textContent(".qp-result"));
        const text = await page.textContent(".qp-usb-out");
        assert(text.includes("Also goes along: dom0:00_1a.1, dom0:00_1a.2"), text);
        assert((await page.textContent(".qp-usb-matched")).includes("413c:818d"), "the device is not marked");
    });
    await shot(page, "usb-1280x800");
    await check("USB finder: a manufacturer string with markup shows as text", async () => {
        await page.fill("#usb-query", "1234:5678");
        await page.click("#usb-find");
        await page.waitForSelector(".qp-usb-matched:has-text('1234:5678')");
        assert((await page.textContent(".qp-usb-matched")).includes(hostile), "not shown as text");
        assert(await page.$("img") === null && await page.evaluate(() => window.qpciPwned) === undefined, "markup ran");
    });

    await check("USB finder: with nothing asked every USB device is listed; picking one names its controller", async () => {
        await page.fill("#usb-query", "");
        await page.click("#usb-find");
        await page.waitForSelector("button.qp-usb-pick[data-port='3-1.2']");
        await shot(page, "usb-all-1280x800");
        await page.click("button.qp-usb-pick[data-port='3-1.2']");
        await page.waitForSelector(".qp-result:has-text('It is behind dom0:00_1a.0.')");
        assert(await page.inputValue("#usb-query") === "3-1.2", "the query is not the port picked");
        assert((await page.textContent(".qp-usb-out")).includes("Also goes along: dom0:00_1a.1, dom0:00_1a.2"), "what goes along is not said");
    });

    await check("host map: every function once; a device's functions in one unit; a bridge holds what is behind it; USB under its controller", async () => {
        await go(page, "#/map");
        await page.waitForSelector(".qp-root");
        const chips = await page.$$eval(".qp-chip", l => l.map(x => x.dataset.id));
        const want = host.filter(d => !d.bridge).map(d => d.id);
        assert(JSON.stringify(chips.slice().sort()) === JSON.stringify(want.slice().sort()), "chips " + chips);
        const unit = await page.$$eval(".qp-unit[data-slot='0000:00:1a'] .qp-chip", l => l.map(x => x.dataset.id));
        assert(JSON.stringify(unit) === JSON.stringify(["dom0:00_1a.0", "dom0:00_1a.1", "dom0:00_1a.2"]), "unit " + unit);
        assert(await page.$(".qp-bridge-box[data-id='dom0:00_1c.0'] .qp-chip[data-id='dom0:02_00.0']") !== null, "the NIC is not in its bridge's box");
        assert(await page.$(".qp-chip[data-id='dom0:00_1a.0'] li[data-port='3-1.2']") !== null, "3-1.2 is not under its controller");
        assert((await page.textContent(".qp-chip[data-id='dom0:00_1a.0']")).includes("group 5"), "no IOMMU group");
        await page.click(".qp-chip[data-id='dom0:00_19.0'] a");
        await page.waitForSelector("h2#dev-h:has-text('dom0:00_19.0')");
    });
    await go(page, "#/map");
    await page.waitForSelector(".qp-root");
    await shot(page, "map-1280x800");

    // Qubes' workflow through the page alone: the controller with its functions to sys-usb with
    // no-strict-reset, the DMA buffer in kernelopts; then the command line sees it.
    await check("VM settings, Devices tab: Add the controller, Add what goes along, no-strict-reset on each in Configure strict reset", async () => {
        await go(page, "#/vm/sys-usb/devices");
        await page.waitForSelector("#available");
        await page.fill("#avail-filter", "00_1a.0");
        await page.selectOption("#available", "dom0:00_1a.0");
        await page.click("#dev-add");
        await page.waitForSelector("#add-along");
        const along = await page.$$eval(".qp-finding-goes-along .qp-finding-error", l => l.map(x => x.textContent));
        assert(JSON.stringify(along) === JSON.stringify(["dom0:00_1a.1 goes along with dom0:00_1a.0", "dom0:00_1a.2 goes along with dom0:00_1a.0"]),
               "goes along: " + along);
        assert((await page.textContent(".qp-verdict-head")).includes("refuse"), "the verdict is not a refusal");
        await page.click("#add-along");
        const selected = await page.$$eval("#selected option", o => o.map(x => x.value));
        assert(JSON.stringify(selected) === JSON.stringify(["dom0:00_1a.0", "dom0:00_1a.1", "dom0:00_1a.2"]), "selected " + selected);
        await page.waitForSelector(".qp-verdict-ok");
        await page.click("#strict-reset-open");
        await page.waitForSelector("#strict-reset-dialog[open]");
        const listed = await page.$$eval("#strict-reset-dialog input[type=checkbox]", l => l.map(x => x.dataset.id));
        assert(JSON.stringify(listed) === JSON.stringify(selected), "the dialog lists " + listed);
        assert((await page.textContent("#strict-reset-dialog .qp-alert-warning")).includes("will also weaken device isolation"), "no warning in the dialog");
        await shot(page, "strict-reset-1280x800", false); // a modal's backdrop covers the screen, not the page
        for (const id of selected)
            await page.check(`#strict-reset-dialog input[data-id='${id}']`);
        await page.click("#strict-reset-ok");
        await page.waitForSelector("#strict-reset-dialog", { state: "hidden" });
        for (const id of selected)
            assert(await page.isChecked(`input[data-option=no_strict_reset][data-id='${id}']`), id + ": no-strict-reset not set");
        assert(await page.isVisible("fieldset[data-id='dom0:00_1a.0'] .qp-alert-warning"), "no warning with no-strict-reset");
        const preview = await page.$$eval(".qp-commands li", l => l.map(x => x.textContent));
        assert(JSON.stringify(preview) === JSON.stringify(selected.map(id => "qvm-pci attach -p -o no-strict-reset=True sys-usb " + id)),
               "preview " + preview);
        await page.waitForSelector(".qp-verdict-ok");
    });
    await shot(page, "vm-devices-1280x800");
    await check("Apply runs them; qvm-pci shows sys-usb under USED BY with no-strict-reset", async () => {
        await page.click("#devices-apply");
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        const list = cli("qvm-pci", "list", "-s");
        for (const f of ["0", "1", "2"])
            assert(new RegExp("^dom0:00_1a\\." + f + " .*\\*sys-usb \\(required: no-strict-reset=True\\)$", "m").test(list), list);
        const plain = cli("qvm-pci");
        assert(/^dom0:00_1a\.0 .* sys-usb \(no-strict-reset=True\)$/m.test(plain), plain);
    });
    await check("an option changed on an assigned device: Apply runs qvm-pci assign -r with both options", async () => {
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.check("input[data-option=permissive][data-id='dom0:00_1a.0']");
        assert(await page.isVisible("fieldset[data-id='dom0:00_1a.0'] .qp-alert-warning:has-text('Interrupt Remapping')"), "no permissive warning");
        const preview = await page.$$eval(".qp-commands li", l => l.map(x => x.textContent));
        assert(JSON.stringify(preview) === JSON.stringify(["qvm-pci assign -r -o no-strict-reset=True -o permissive=True sys-usb dom0:00_1a.0"]),
               "preview " + preview);
        await page.click("#devices-apply");
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        const list = cli("qvm-pci", "list", "-s");
        assert(/^dom0:00_1a\.0 .*\*sys-usb \(required: no-strict-reset=True, permissive=True\)$/m.test(list), list);
        assert(/^dom0:00_1a\.1 .*\*sys-usb \(required: no-strict-reset=True\)$/m.test(list), list);
    });
    await check("a device without a reliable reset: qpci's reason and fix before Apply, its refusal after", async () => {
        await page.fill("#avail-filter", "00_16.0");
        await page.dblclick("#available option[value='dom0:00_16.0']");
        const check = JSON.parse(cli("qvm-pci", "check", "sys-usb", "dom0:00_16.0", "--json"));
        const finding = check.findings.find(f => f.code === "no-reset");
        assert(finding && !check.allowed, "qvm-pci check: " + JSON.stringify(check));
        await page.waitForSelector(".qp-finding-no-reset");
        const shown = await page.textContent(".qp-finding-no-reset");
        for (const part of [finding.error, finding.reason, finding.fix])
            assert(shown.includes(part), "page: " + shown + "\nmissing: " + part);
        const want = cliFail("qvm-pci", "attach", "-p", "sys-usb", "dom0:00_16.0");
        assert(want.reason && want.fix, "the tool gives no reason and fix: " + JSON.stringify(want));
        await page.click("#devices-apply");
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.waitForSelector(".qp-action-out .qp-alert-danger");
        await assertRefusal(page, ".qp-action-out", want);
        assert(!/00_16\.0/.test(cli("qvm-pci", "list", "-s")), "it was assigned");
    });
    await shot(page, "vm-refusal-1280x800");
    await check("after the refusal the selection stays; with no-strict-reset the same Apply assigns it", async () => {
        await page.check("input[data-option=no_strict_reset][data-id='dom0:00_16.0']");
        await page.waitForSelector(".qp-verdict-ok");
        assert(await page.$(".qp-finding-no-reset") === null, "the reset finding stays with no-strict-reset");
        await page.click("#devices-apply");
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        assert(/^dom0:00_16\.0 .*\*sys-usb \(required: no-strict-reset=True\)$/m.test(cli("qvm-pci", "list", "-s")), "not assigned");
    });
    await check("Remove by a double-click: Apply runs qvm-pci unassign for a halted VM, and the assignment ends", async () => {
        await page.dblclick("#selected option[value='dom0:00_16.0']");
        const preview = await page.$$eval(".qp-commands li", l => l.map(x => x.textContent));
        assert(JSON.stringify(preview) === JSON.stringify(["qvm-pci unassign sys-usb dom0:00_16.0"]), "preview " + preview);
        await page.click("#devices-apply");
        await page.waitForSelector("#vm-pane:not([aria-busy])");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        assert(!/00_16\.0/.test(cli("qvm-pci", "list", "-s")), "still assigned");
    });
    await check("Basic tab: the larger DMA buffer into kernelopts, 2 vcpus, memory and maxmem, strict reset off; qvm-prefs reads them back", async () => {
        await go(page, "#/vm/sys-usb/basic");
        await page.waitForSelector("#pref-kernelopts");
        assert((await page.inputValue("#pref-kernelopts")) === "iommu=soft swiotlb=2048", "Qubes' default not shown");
        await page.click("#dma-larger");
        await page.fill("#pref-vcpus", "2");
        await page.fill("#pref-memory", "640");
        await page.fill("#pref-maxmem", "640");
        await page.uncheck("#pref-pci_strictreset");
        await page.click("#basic-apply");
        await page.waitForSelector(".qp-action-out .qp-alert-success");
        assert(cli("qvm-prefs", "sys-usb", "kernelopts").trim() === "iommu=soft swiotlb=8192", cli("qvm-prefs", "sys-usb"));
        assert(cli("qvm-prefs", "sys-usb", "vcpus").trim() === "2", cli("qvm-prefs", "sys-usb"));
        assert(cli("qvm-prefs", "sys-usb", "memory").trim() === "640", cli("qvm-prefs", "sys-usb"));
        assert(cli("qvm-prefs", "sys-usb", "maxmem").trim() === "640", cli("qvm-prefs", "sys-usb"));
        assert(cli("qvm-prefs", "sys-usb", "pci_strictreset").trim() === "False", cli("qvm-prefs", "sys-usb"));
    });
    await shot(page, "vm-basic-1280x800");
    await check("keyboard only in the Devices tab: filter, Tab to Available, arrow to a device, Enter adds it", async () => {
        await go(page, "#/vm/sys-net/devices");
        await page.waitForSelector("#available option");
        await page.focus("#avail-filter");
        await page.keyboard.type("00_1b");
        await page.keyboard.press("Tab");
        await page.keyboard.press("Tab");
        assert(await page.evaluate(() => document.activeElement.id) === "available", "Tab did not reach Available");
        await page.keyboard.press("ArrowDown");
        await page.keyboard.press("Enter");
        const selected = await page.$$eval("#selected option", o => o.map(x => x.value));
        assert(JSON.stringify(selected) === JSON.stringify(["dom0:00_1b.0"]), "selected " + selected);
        assert((await page.textContent(".qp-commands")).includes("qvm-pci attach -p sys-net dom0:00_1b.0"), "no command");
    });
    await check("Devices tab: a device another VM has is named, halted, as qvm-pci check says", async () => {
        await assertElsewhere(page, "sys-net", "dom0:00_1a.0", "sys-usb", false);
    });
    await shot(page, "vm-devices-elsewhere-1280x800");
    await check("VMs view: state, memory and devices as qvm-ls has them", async () => {
        await page.click("#refresh");
        await go(page, "#/vms");
        await page.waitForSelector("tr[data-vm=sys-usb]");
        const text = await page.textContent("tr[data-vm=sys-usb]");
        const vm = JSON.parse(cli("qvm-ls", "--json", "sys-usb"))[0];
        for (const want of ["Halted", vm.memory + " MiB", "dom0:00_1a.0"])
            assert(text.includes(want), "missing " + want + " in " + text);
    });
    await shot(page, "vms-1280x800");
    await check("Devices tab: a device that changed since it was assigned is marked, with qpci's reason and fix; Remove clears the verdict and unassigns it", async () => {
        cli("qvm-pci", "attach", "-p", "sys-net", "dom0:02_00.0");
        swapCard("0000:02:00.0", "8086", "1572");
        try {
            const want = JSON.parse(cli("qvm-pci", "check", "sys-net", "--json")).findings.find(f => f.code === "changed");
            assert(want && want.reason && want.fix, "qvm-pci check: " + JSON.stringify(want));
            await page.click("#refresh");
            await page.waitForSelector("tr[data-vm=sys-net]:has-text('dom0:02_00.0')");
            await go(page, "#/vm/sys-net/devices");
            await page.waitForSelector(".qp-finding-changed");
            const shown = {};
            for (const part of ["error", "reason", "fix"])
                shown[part] = (await page.textContent(".qp-finding-changed .qp-finding-" + part)).replace(/^: |^Fix: /, "");
            assert(shown.error === want.error && shown.reason === want.reason && shown.fix === want.fix,
                   "page: " + JSON.stringify(shown) + "\ncli: " + JSON.stringify(want));
            const label = await page.textContent("#selected option[value='dom0:02_00.0']");
            assert(label.includes("(changed: another device is at its port)"), label);
            await shot(page, "vm-devices-changed-1280x800");
            await page.selectOption("#selected", "dom0:02_00.0");
            await page.click("#dev-remove");
            const preview = await page.$$eval(".qp-commands li", l => l.map(x => x.textContent));
            assert(JSON.stringify(preview) === JSON.stringify(["qvm-pci unassign sys-net dom0:02_00.0"]), "preview " + preview);
            // Before Apply: the verdict is on the selection as it now is, without the changed device.
            await page.waitForSelector(".qp-verdict-ok:has-text('The rules allow it.')", { timeout: 5000 });
            assert(!(await page.$(".qp-finding-changed")), "the changed device's finding is still shown");
            await page.click("#devices-apply");
            await page.waitForSelector("#vm-pane:not([aria-busy])");
            await page.waitForSelector(".qp-action-out .qp-alert-success");
            assert(!/sys-net/.test(cli("qvm-pci", "list", "-s")), cli("qvm-pci", "list", "-s"));
        } finally {
            swapCard("0000:02:00.0", "10ec", "8168");
        }
    });
    await check("a change made with the command line shows on the open page within a second (qpci monitor)", async () => {
        await go(page, "#/devices");
        await page.waitForSelector("body[data-live=yes]", { timeout: 10000 });
        const cell = "tr[data-id='dom0:00_1b.0'] .qp-usedby-cell";
        assert(!(await page.textContent(cell)).includes("sys-usb"), "already there");
        cli("qvm-pci", "attach", "-p", "sys-usb", "dom0:00_1b.0");
        let t = Date.now();
        await page.waitForSelector(cell + ":has-text('sys-usb')", { timeout: 1000 });
        console.log(`# the assignment showed ${Date.now() - t} ms after qvm-pci attach returned`);
        cli("qvm-pci", "unassign", "sys-usb", "dom0:00_1b.0");
        t = Date.now();
        await page.waitForFunction(sel => !document.querySelector(sel).textContent.includes("sys-usb"), cell, { timeout: 1000 });
        console.log(`# and went ${Date.now() - t} ms after qvm-pci unassign returned`);
    });
    await go(page, "#/vms");
    await check("Start of a VM with the fixture's devices: qpci's refusal, shown", async () => {
        const want = cliFail("qvm-start", "sys-usb");
        await page.click("tr[data-vm=sys-usb] button[data-action=start]");
        await page.waitForSelector(".qp-action-out .qp-alert-danger");
        await assertRefusal(page, ".qp-action-out", want);
    });
    await check("Start of sys-net (no devices): it runs, and the page says so", async () => {
        await page.click("tr[data-vm=sys-net] button[data-action=start]");
        await page.waitForSelector("tr[data-vm=sys-net] button[data-action='shut down']", { timeout: 20000 });
        assert(cli("virsh", "domstate", "sys-net").trim() === "running", "not running");
    });
    await check("host devices: a running VM that has a device is marked running under Used by", async () => {
        const xml = path.join(artifacts, "..", "hostdev-19.xml");
        fs.writeFileSync(xml, "<hostdev mode='subsystem' type='pci' managed='no'><source>" +
                         "<address domain='0x0000' bus='0x00' slot='0x19' function='0x0'/></source></hostdev>");
        cli("virsh", "attach-device", "sys-net", xml, "--config");
        fs.unlinkSync(xml);
        await go(page, "#/devices");
        await page.click("#refresh");
        await page.waitForSelector("tr[data-id='dom0:00_19.0'] .qp-usedby-cell:has-text('sys-net')");
        const cell = await page.textContent("tr[data-id='dom0:00_19.0'] .qp-usedby-cell");
        assert(cell.includes("running"), "not marked running: " + cell);
        assert(!(await page.textContent("tr[data-id='dom0:00_1a.0'] .qp-usedby-cell")).includes("running"), "halted sys-usb marked running");
    });
    await check("Devices tab: a device a running VM has is named, running, as qvm-pci check says", async () => {
        await go(page, "#/vm/sys-usb/devices");
        await page.waitForSelector("#available option");
        await assertElsewhere(page, "sys-usb", "dom0:00_19.0", "sys-net", true);
    });
    await shot(page, "vm-devices-running-1280x800");
    // Shut down clicked while a Refresh runs: the page once gave no answer in 30 s, as the
    // Refresh drew the view anew when it ended, either between the press and the release of
    // the click (no click) or after it (the answer went to the view drawn before).
    await check("VMs view: Shut down, clicked while a Refresh runs, runs qvm-shutdown and says what it did", async () => {
        await go(page, "#/vms");
        await page.waitForSelector("tr[data-vm=sys-net] button[data-action='shut down']");
        const t = Date.now();
        const ended = await refresh(page);
        await page.click("tr[data-vm=sys-net] button[data-action='shut down']");
        await page.waitForSelector(".qp-action-out .qp-alert-success", { timeout: 10000 });
        console.log(`# qvm-shutdown from the page answered after ${((Date.now() - t) / 1000).toFixed(1)} s`);
        await ended();
        assert((await page.textContent(".qp-action-out .qp-command")).includes("qvm-shutdown sys-net"), "another command");
    });
    await check("VMs view: after a Refresh the answer is still shown, and the rows that did not change are the same", async () => {
        await page.evaluate(() => { document.querySelector("tr[data-vm=sys-usb]").dataset.before = "yes"; });
        await (await refresh(page))();
        assert((await page.textContent("#view")).includes("qvm-shutdown sys-net"), "the answer is gone: " + await page.textContent("#view"));
        assert(await page.$("tr[data-vm=sys-usb][data-before]"), "sys-usb's row was drawn anew");
    });

    const wide = {};
    const unnamed = {};
    let seen = 0;
    for (const [hash, name] of [["#/devices", "devices"], ["#/device/dom0:00_1a.0", "device"], ["#/map", "map"], ["#/usb", "usb"], ["#/vms", "vms"],
        ["#/vm/sys-usb/devices", "vm-devices"], ["#/vm/sys-usb/basic", "vm-basic"]]) {
        await page.setViewportSize(PHONE);
        await go(page, hash);
        await page.waitForTimeout(400);
        await shot(page, name + "-phone");
        wide[name] = await page.evaluate(() => document.documentElement.scrollWidth);
        // What a screen reader says of a control: its label, aria-label or text.
        const controls = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
            .map(c => (c.labels && c.labels.length) || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby") || c.textContent.trim()
                ? null : c.id || c.outerHTML.slice(0, 80)));
        seen += controls.length;
        if (controls.some(Boolean))
            unnamed[name] = controls.filter(Boolean);
    }
    await check("on every view every control has a name a screen reader says (a label, aria-label or its text)", async () => {
        assert(seen > 30 && Object.keys(unnamed).length === 0, seen + " controls; without a name: " + JSON.stringify(unnamed));
    });
    await check("at a phone's width no view is wider than the screen", async () => {
        const over = Object.entries(wide).filter(([, w]) => w > PHONE.width);
        assert(Object.keys(wide).length === 7 && over.length === 0, "scrollWidth: " + JSON.stringify(wide));
    });
    await check("dark theme as Cockpit's (shell:style dark)", async () => {
        await page.setViewportSize(DESKTOP);
        await page.evaluate(() => window.localStorage.setItem("shell:style", "dark"));
        await page.reload();
        await page.waitForSelector("body[data-ready=yes]");
        assert(await page.evaluate(() => document.documentElement.classList.contains("pf-theme-dark")), "no pf-theme-dark");
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert(bg === "rgb(27, 29, 33)", "background " + bg);
        await shot(page, "devices-dark-1280x800");
        await go(page, "#/vm/sys-usb/devices");
        await page.waitForSelector(".qp-verdict-head");
        await shot(page, "vm-devices-dark-1280x800");
        await go(page, "#/device/dom0:00_1a.0");
        await page.waitForSelector("h2#dev-h");
        await shot(page, "device-dark-1280x800");
        await page.evaluate(() => window.localStorage.removeItem("shell:style"));
    });
    await check("no script error, no Content-Security-Policy violation, nothing loaded from outside the host", async () => {
        assert(errors.length === 0, errors.join("\n"));
    });
    await context.close();
}

async function readonlySession(browser) {
    const base = process.env.QPCI_WS_READONLY;
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const before = cli("qvm-pci", "info", "00:19.0", "--json");
    await check("without administrative access: everything shown, read-only said", async () => {
        await open(page, base, "#/devices");
        assert(await page.getAttribute("body", "data-admin") === "no", "an admin session");
        assert(await page.isVisible("#readonly"), "no read-only banner");
        const rows = await page.$$("table.qp-devices tbody tr:not(.qp-bridge-row)");
        assert(rows.length === JSON.parse(cli("qvm-pci", "--json")).filter(d => !d.bridge).length, "rows " + rows.length);
    });
    await shot(page, "readonly-1280x800");
    await check("without administrative access: hide says it is needed, and the device stays", async () => {
        await go(page, "#/device/dom0:00_19.0");
        await page.waitForSelector("h2#dev-h:has-text('dom0:00_19.0')");
        await page.click("button[data-action=hide]");
        await page.waitForSelector(".qp-action-out .qp-alert-danger");
        assert((await page.textContent(".qp-alert-admin")).includes("Administrative access is needed"), "not said");
        assert(cli("qvm-pci", "info", "00:19.0", "--json") === before, "the device changed");
    });
    await shot(page, "readonly-refusal-1280x800");
    await context.close();
}

// cockpit-ws with Cockpit's own login (PAM): nothing of the page or its data before it.
async function loginSession(browser) {
    const base = process.env.QPCI_WS_LOGIN;
    await check("without login: the page's URL answers Cockpit's login page, none of the page", async () => {
        const r = await fetch(base + PAGE);
        const body = await r.text();
        assert(r.status === 200 && body.includes("login-user-input"), "status " + r.status + ": " + body.slice(0, 200));
        assert(!body.includes("qp-header") && !body.includes("tools.js"), "the page's own HTML was served");
    });
    await check("without login: the page's scripts and Cockpit's manifests answer 401", async () => {
        for (const f of ["/cockpit/@localhost/qpci/devices.js", "/cockpit/@localhost/qpci/config.js", "/cockpit/@localhost/manifests.json"]) {
            const r = await fetch(base + f);
            assert(r.status === 401, f + ": " + r.status);
        }
    });
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await check("a wrong password gets no further than the login page", async () => {
        await page.goto(base + PAGE);
        await page.fill("#login-user-input", process.env.QPCI_WEB_USER);
        await page.fill("#login-password-input", "not the password");
        await page.click("#login-button");
        await page.waitForSelector("#login-error-message:visible");
        assert(await page.$("body[data-ready]") === null && await page.$("#login-user-input") !== null, "not on the login page");
    });
    await check("a user who logs in gets the page, read-only without administrative access", async () => {
        await page.fill("#login-password-input", process.env.QPCI_WEB_PASSWORD);
        await page.click("#login-button");
        await page.waitForSelector("body[data-ready=yes]", { timeout: 30000 });
        assert(await page.getAttribute("body", "data-admin") === "no", "admin");
        assert(await page.isVisible("#readonly"), "no read-only banner");
    });
    await context.close();
}

(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    const browser = await chromium.launch({ executablePath: "/usr/lib/chromium/chromium", headless: true });
    try {
        await adminSession(browser);
        await readonlySession(browser);
        await loginSession(browser);
    } catch (e) {
        failed++;
        console.log("not ok " + (++n) + " - the scenarios stopped: " + String(e && e.stack || e).split("\n")[0]);
    } finally {
        await browser.close();
    }
    await check("every screenshot doc/manager.md lists was taken", async () => {
        const doc = fs.readFileSync(path.join(__dirname, "../../doc/manager.md"), "utf8");
        const named = [...doc.matchAll(/`([\w-]+\.png)`/g)].map(m => m[1]);
        const missing = named.filter(f => !fs.existsSync(path.join(artifacts, f)));
        assert(named.length >= 20 && missing.length === 0, named.length + " named; missing: " + missing.join(", "));
    });
    if (!process.argv.includes("--no-plan"))
        console.log(`1..${n}`);
    process.exit(failed ? 1 : 0);
})();
