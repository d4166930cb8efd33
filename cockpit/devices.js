// The host devices view (every function, as `qvm-pci --json` gives it, with filters; bridges as
// the structure devices sit in) and one device opened (`qvm-pci info --json`), with hide,
// unhide, reset and permissive through the tools.
(function () {
    "use strict";
    const { el, clear, problem, field, run } = window.qpci;

    // Qubes Manager's class filter, by the PCI class code's base class (and subclass for USB).
    const CLASSES = [
        { name: "Network", icon: "⇄", test: c => c.startsWith("02") },
        { name: "Display", icon: "▭", test: c => c.startsWith("03") },
        { name: "Audio", icon: "♪", test: c => c.startsWith("04") },
        { name: "Storage", icon: "⛁", test: c => c.startsWith("01") },
        { name: "USB Controller", icon: "⌁", test: c => c.startsWith("0c03") },
    ];
    const OTHER = { name: "Other", icon: "◇" };
    const BRIDGE = { name: "Bridge", icon: "⑂" };

    function category(dev) {
        if (dev.bridge)
            return BRIDGE;
        return CLASSES.find(c => c.test(dev.class || "")) || OTHER;
    }

    function name(dev) {
        return [dev.vendor, dev.product].filter(Boolean).join(" ") || dev.description || "";
    }

    function stateText(dev) {
        if (dev.state === "host")
            return "host: " + dev.driver;
        if (dev.state === "hidden")
            return "hidden: " + (dev.driver || "?") + (dev.hidden_from ? " (from " + dev.hidden_from + ")" : "");
        return dev.state || "";
    }

    function vmRunning(vmName) {
        const vm = (window.qpci.state.vms || []).find(v => v.name === vmName);
        return vm ? vm.running : false;
    }

    function usedBy(dev) {
        return el("ul", { class: "qp-usedby" }, (dev.used_by || []).map(u => {
            const running = vmRunning(u.vm);
            const opts = [u.no_strict_reset ? "no-strict-reset" : null, u.permissive ? "permissive" : null]
                .filter(Boolean);
            return el("li", {},
                      el("span", { class: "qp-vm-name" }, u.vm),
                      running ? el("span", { class: "qp-badge qp-badge-running" }, "running") : null,
                      opts.length ? el("span", { class: "qp-muted" }, " (" + opts.join(", ") + ")") : null);
        }));
    }

    // Proxmox VE's hints: a device whose IOMMU group holds others goes to a VM only with them.
    function groupCell(dev, devices) {
        if (dev.iommu_group === null)
            return el("span", { class: "qp-group" }, "none");
        const peers = devices.filter(d => d !== dev && d.iommu_group === dev.iommu_group).map(d => d.id);
        return el("div", { class: "qp-group" }, String(dev.iommu_group),
                  peers.length ? el("span", { class: "qp-reason qp-group-shared" },
                                    "not in a separate IOMMU group: with " + peers.join(", ")) : null);
    }

    // No function in any group: the IOMMU is off or missing, and VFIO can give no VM anything.
    function noIommu(devices) {
        const fns = devices.filter(d => !d.bridge);
        return fns.length && fns.every(d => d.iommu_group === null)
            ? el("div", { class: "qp-alert qp-alert-warning", id: "no-iommu", role: "note" },
                 el("p", { class: "qp-alert-title" }, "No IOMMU detected"),
                 el("p", {}, "No device is in an IOMMU group, so none can be given to a VM: the IOMMU is off or missing. " +
                    "Turn on VT-d (Intel) or AMD-Vi in the firmware and boot with intel_iommu=on or amd_iommu=on."))
            : null;
    }

    function resetCell(dev) {
        return el("div", { class: "qp-reset" },
                  el("span", { class: "qp-badge " + (dev.strict_reset ? "qp-badge-ok" : "qp-badge-warn") },
                     dev.strict_reset ? "reliable reset" : "no reliable reset"),
                  el("span", { class: "qp-reason" }, dev.strict_reset_reason || ""));
    }

    // Depth-first from the root buses: each bridge, then what sits behind it.
    function treeOrder(devices) {
        const children = new Map();
        const byBdf = new Map(devices.map(d => [d.bdf, d]));
        for (const d of devices) {
            const parent = d.parent && byBdf.has(d.parent) ? d.parent : null;
            if (!children.has(parent))
                children.set(parent, []);
            children.get(parent).push(d);
        }
        const out = [];
        const walk = (parent, depth) => {
            for (const d of (children.get(parent) || []).sort((a, b) => a.bdf.localeCompare(b.bdf))) {
                out.push({ dev: d, depth });
                walk(d.bdf, depth + 1);
            }
        };
        walk(null, 0);
        return out;
    }

    function matcher(text) {
        if (!text)
            return { test: () => true };
        try {
            return new RegExp(text, "i");
        } catch (e) {
            return null;
        }
    }

    function searchText(dev) {
        return [dev.id, dev.bdf, dev.description, dev.vendor_id + ":" + dev.device_id, dev.driver,
            stateText(dev), (dev.used_by || []).map(u => u.vm).join(" ")].join(" ");
    }

    // The regex and class filter bar, shared with the VM settings' lists.
    function filterBar(prefix, onChange) {
        const text = el("input", { type: "search", class: "qp-input", id: prefix + "-filter", placeholder: "e.g. usb|ethernet" });
        const cls = el("select", { class: "qp-input", id: prefix + "-class" },
                       ["All"].concat(CLASSES.map(c => c.name), [OTHER.name]).map(n => el("option", { value: n }, n)));
        const error = el("p", { class: "qp-field-error", role: "alert", hidden: true });
        const get = () => ({ re: matcher(text.value), cls: cls.value });
        const changed = () => {
            const f = get();
            error.hidden = f.re !== null;
            error.textContent = f.re === null ? "Not a regular expression: " + text.value : "";
            if (f.re !== null)
                onChange(f);
        };
        text.addEventListener("input", changed);
        cls.addEventListener("change", changed);
        const bar = el("div", { class: "qp-filters" },
                       field("Filter (regular expression)", text),
                       field("Class", cls), error);
        return { bar, get };
    }

    function passes(dev, f) {
        if (dev.bridge)
            return false;
        if (f.cls !== "All" && category(dev).name !== f.cls)
            return false;
        return f.re === null || f.re.test(searchText(dev));
    }

    function renderDevices(view) {
        const body = el("tbody");
        const table = el("table", { class: "qp-table qp-devices", "aria-label": "Host PCI devices" },
                         el("thead", {}, el("tr", {}, ["Device", "Class", "Name", "Vendor:device", "Driver or hidden",
                             "IOMMU group", "Reset", "Used by"].map(h => el("th", { scope: "col" }, h)))),
                         body);
        const count = el("p", { class: "qp-muted", role: "status" });
        const hint = el("div");
        const filters = filterBar("devices", f => fill(f));

        function fill(f) {
            const devices = window.qpci.state.devices || [];
            clear(hint, noIommu(devices));
            clear(body);
            const rows = treeOrder(devices);
            // A bridge shows when something behind it does: the structure a device sits in.
            const shown = new Set();
            const byBdf = new Map(devices.map(d => [d.bdf, d]));
            for (const { dev } of rows) {
                if (!passes(dev, f))
                    continue;
                shown.add(dev.bdf);
                for (let p = byBdf.get(dev.parent); p; p = byBdf.get(p.parent))
                    shown.add(p.bdf);
            }
            let n = 0;
            for (const { dev, depth } of rows) {
                if (!shown.has(dev.bdf))
                    continue;
                if (dev.bridge) {
                    body.append(el("tr", { class: "qp-bridge-row", "data-id": dev.id },
                                   el("td", { colspan: 8 },
                                      el("span", { class: "qp-indent", "data-depth": depth }),
                                      el("span", { class: "qp-icon", "aria-hidden": "true" }, BRIDGE.icon),
                                      el("span", { class: "qp-bridge-id" }, dev.id),
                                      " ", dev.description, " ",
                                      el("span", { class: "qp-muted" }, "(bridge: the devices below sit behind it)"))));
                    continue;
                }
                n++;
                const cat = category(dev);
                body.append(el("tr", { "data-id": dev.id, class: dev.state === "hidden" ? "qp-hidden-dev" : null },
                    el("td", { "data-label": "Device" },
                       el("span", { class: "qp-indent", "data-depth": depth }),
                       el("a", { class: "qp-link qp-dev-link", href: "#/device/" + encodeURIComponent(dev.id) }, dev.id)),
                    el("td", { "data-label": "Class" }, el("span", { class: "qp-icon", "aria-hidden": "true" }, cat.icon), " ", dev.class_name || cat.name),
                    el("td", { "data-label": "Name", class: "qp-name" }, name(dev)),
                    el("td", { "data-label": "Vendor:device" }, el("code", {}, dev.vendor_id + ":" + dev.device_id)),
                    el("td", { "data-label": "Driver or hidden", class: "qp-state" }, stateText(dev)),
                    el("td", { "data-label": "IOMMU group" }, groupCell(dev, devices)),
                    el("td", { "data-label": "Reset" }, resetCell(dev)),
                    el("td", { "data-label": "Used by", class: "qp-usedby-cell" }, usedBy(dev))));
            }
            count.textContent = n + " of " + devices.filter(d => !d.bridge).length + " devices shown";
        }

        clear(view, el("section", { class: "qp-card", "aria-labelledby": "devices-h" },
                                el("h2", { id: "devices-h" }, "Host devices"),
                                hint, filters.bar, count, el("div", { class: "qp-table-wrap" }, table)));
        fill(filters.get());
        // Changes made elsewhere refill the table; the filters stay as they are.
        window.qpci.refreshView = () => fill(filters.get());
    }

    function factList(pairs) {
        return el("dl", { class: "qp-facts" }, pairs.filter(p => p[1] !== undefined && p[1] !== null && p[1] !== "")
            .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    }

    function devLinks(bdfs) {
        const devices = window.qpci.state.devices || [];
        return el("ul", { class: "qp-inline-list" }, bdfs.map(b => {
            const d = devices.find(x => x.bdf === b);
            return el("li", {}, d ? el("a", { class: "qp-link", href: "#/device/" + encodeURIComponent(d.id) }, d.id + " ")
                : b + " ", d ? el("span", { class: "qp-muted" }, d.description) : null);
        }));
    }

    // pick(port), when given: each USB device gets a button that picks it.
    function usbTree(controllers, pick) {
        return controllers.map(c => el("div", { class: "qp-usb-ctrl" },
            el("p", {}, el("strong", {}, c.id), " ", c.description),
            c.buses.map(b => el("div", { class: "qp-usb-bus" },
                el("p", { class: "qp-muted" }, "usb" + b.bus + " (USB " + b.version + ")"),
                el("ul", { class: "qp-usb-devs" }, b.devices.filter(u => !/^usb\d+$/.test(u.port)).map(u =>
                    el("li", { class: u.matched ? "qp-usb-matched" : null },
                       u.matched ? el("span", { class: "qp-badge qp-badge-info" }, "this one") : null,
                       el("code", {}, u.port), " ", el("code", {}, u.vendor_id + ":" + u.product_id), " ",
                       u.name || "(no name)",
                       pick ? el("button", { type: "button", class: "qp-btn qp-btn-link qp-usb-pick", "data-port": u.port,
                                             "aria-label": "Find the controller of " + u.port, onclick: () => pick(u.port) }, "Find its controller")
                           : null)))))));
    }

    function deviceFacts(dev, usb) {
        const mine = [dev.bdf].concat(dev.siblings || []);
        const behind = usb.filter(c => mine.includes(c.bdf));
        return [
            el("h2", { id: "dev-h" }, dev.id + " ", el("span", { class: "qp-name" }, dev.description)),
            factList([
                ["Vendor", dev.vendor], ["Product", dev.product], ["Class", dev.class_name],
                ["Vendor:device", dev.vendor_id + ":" + dev.device_id], ["Device ID", dev.qubes_device_id],
                ["Port", dev.port_id], ["SBDF", dev.bdf], ["State", stateText(dev)],
                ["Kernel module", dev.module], ["IOMMU group", dev.iommu_group === null ? "none" : String(dev.iommu_group)],
                ["Reset", resetCell(dev)],
                ["Used by", (dev.used_by || []).length ? usedBy(dev) : "no VM"],
            ]),
            dev.host_uses ? el("div", { class: "qp-alert qp-alert-warning qp-host-uses", role: "note" },
                               el("p", { class: "qp-alert-title" }, "The host uses it: " + dev.host_uses),
                               el("p", {}, "Hiding it, or a device that must go with it, would take that from the host: qpci refuses.")) : null,
            (dev.warnings || []).map(w => el("div", { class: "qp-alert qp-alert-warning", role: "note" }, w)),
            (dev.siblings || []).length ? el("div", {}, el("h3", {}, "Other functions of this device"), devLinks(dev.siblings)) : null,
            (dev.iommu_group_peers || []).length ? el("div", {}, el("h3", {}, "The rest of its IOMMU group"), devLinks(dev.iommu_group_peers)) : null,
            behind.length ? el("div", {}, el("h3", {}, "USB behind it (goes with it)"), usbTree(behind)) : null,
            el("details", {}, el("summary", {}, "Everything qpci knows (qvm-pci info --json)"),
               el("pre", { class: "qp-json" }, JSON.stringify(dev, null, 2))),
        ];
    }

    function renderDevice(view, id) {
        const facts = el("section", { class: "qp-card", "aria-labelledby": "dev-h" }, el("p", { class: "qp-loading" }, "Loading " + id + "…"));
        const load = () => Promise.all([run(["qvm-pci", "info", id]), run(["qvm-pci", "usb"]).catch(() => [])])
            .then(([dev, usb]) => clear(facts, ...deviceFacts(dev, usb).flat()))
            .catch(p => clear(facts, problem(p, "device")));
        const out = window.qpci.answers();
        const persistent = el("input", { type: "checkbox", id: "hide-persistent" });
        const group = el("input", { type: "checkbox", id: "hide-group" });
        const options = el("div", { class: "qp-checks" },
                           el("label", {}, persistent, " persistent (hidden again at every boot)"),
                           el("label", {}, group, " with its IOMMU group"));
        const hideArgs = () => ["qvm-pci", "hide"].concat(persistent.checked ? ["-p"] : [], group.checked ? ["--with-group"] : [], [id]);
        const after = () => { load(); window.qpci.reload(false); };
        const button = (label, argv) => window.qpci.actionButton(label, argv, out, after);
        window.qpci.refreshView = load;
        clear(view, 
            el("nav", { class: "qp-breadcrumb", "aria-label": "Breadcrumb" },
               el("a", { class: "qp-link", href: "#/devices" }, "Host devices"), " › ", id),
            facts,
            el("section", { class: "qp-card", "aria-labelledby": "act-h" },
               el("h2", { id: "act-h" }, "Take it from the host, give it back"),
               el("div", { class: "qp-actions" },
                  el("div", { class: "qp-action-row" }, button("Hide", hideArgs), options),
                  el("div", { class: "qp-action-row" },
                     button("Unhide", ["qvm-pci", "unhide", id]), button("Reset", ["qvm-pci", "reset", id])),
                  el("div", { class: "qp-action-row" },
                     button("Permissive", ["qvm-pci", "permissive", id]),
                     button("Permissive off", ["qvm-pci", "permissive", "--off", id])),
                  el("p", { class: "qp-alert qp-alert-warning qp-warn-permissive", role: "note" }, window.qpci.warnings.permissive)),
               out));
        load();
    }

    Object.assign(window.qpci, { renderDevices, renderDevice, filterBar, passes, category, name, stateText, resetCell, usedBy, usbTree, CLASSES });
})();
