// A VM's settings, as Qubes Manager has them: the Basic tab (qvm-prefs) and the Devices tab
// (Available and Selected lists; Apply runs the qvm-pci commands a user would type).
(function () {
    "use strict";
    const { el, clear, problem, success, field, run, summary, commandLine, filterBar, passes, warnings, newest } = window.qpci;

    const DMA_HINT = "VMs with PCI devices get a small DMA buffer (swiotlb, counted in 512-byte chunks): Qubes' default " +
        "is \"iommu=soft swiotlb=2048\". Some devices need more, such as the Realtek RTL8111DL: \"iommu=soft swiotlb=8192\".";

    // Commands run one after the other, stopping at the first refusal, which is shown with the
    // command that met it.
    function runAll(list, out) {
        const done = [];
        clear(out, el("p", { class: "qp-muted" }, "Applying…"));
        return list.reduce((p, argv) => p.then(() => run(argv).then(result => {
            done.push(el("li", {}, el("code", {}, commandLine(argv)), el("pre", {}, summary(argv, result))));
        })), Promise.resolve())
            .then(() => {
                clear(out, success(list.length ? "Applied." : "Nothing to change."),
                                  done.length ? el("ul", { class: "qp-ran" }, done) : null);
                return true;
            })
            .catch(p => {
                const failed = list[done.length];
                clear(out, problem(p, "apply"),
                                  el("p", { class: "qp-command" }, "Refused: ", el("code", {}, commandLine(failed))),
                                  done.length ? el("ul", { class: "qp-ran" }, done) : null);
                return false;
            });
    }

    function renderBasic(pane, vm, prefs, out) {
        const input = (prop, attrs) => el("input", Object.assign({ class: "qp-input", id: "pref-" + prop, name: prop, value: prefs[prop] ? prefs[prop].value : "" }, attrs));
        const memory = input("memory", { type: "number", min: 1, inputmode: "numeric" });
        const maxmem = input("maxmem", { type: "number", min: 0, inputmode: "numeric" });
        const vcpus = input("vcpus", { type: "number", min: 1, inputmode: "numeric" });
        const kernelopts = input("kernelopts", { type: "text", class: "qp-input qp-wide" });
        const strict = el("input", { type: "checkbox", id: "pref-pci_strictreset", checked: !prefs.pci_strictreset || prefs.pci_strictreset.value !== "False" });
        const larger = el("button", { type: "button", class: "qp-btn qp-btn-link", id: "dma-larger" }, "Use the larger buffer (iommu=soft swiotlb=8192)");
        larger.addEventListener("click", () => { kernelopts.value = "iommu=soft swiotlb=8192"; kernelopts.focus(); });
        const apply = el("button", { type: "submit", class: "qp-btn qp-btn-primary", id: "basic-apply" }, "Apply");
        const form = el("form", { class: "qp-form", "aria-label": "Basic settings of " + vm },
                        field("Memory (MiB)", memory),
                        field("Maximum memory (MiB)", maxmem, "A VM with PCI devices gets no ballooning: its maximum is its memory."),
                        field("Virtual CPUs", vcpus),
                        field("Kernel options", kernelopts, DMA_HINT), larger,
                        el("div", { class: "qp-field" }, el("label", {}, strict, " Strict reset for PCI devices (pci_strictreset)"),
                           el("p", { class: "qp-hint" }, "Off: every PCI device of this VM is used without a reliable reset, as no-strict-reset does for one.")),
                        el("div", { class: "qp-form-actions" }, apply));
        form.addEventListener("submit", ev => {
            ev.preventDefault();
            const wanted = { memory: memory.value, maxmem: maxmem.value, vcpus: vcpus.value, kernelopts: kernelopts.value,
                             pci_strictreset: strict.checked ? "True" : "False" };
            const list = Object.entries(wanted)
                .filter(([k, v]) => !prefs[k] || prefs[k].value !== v)
                .map(([k, v]) => ["qvm-prefs", vm, k, v]);
            apply.disabled = true;
            runAll(list, out)
                .then(() => run(["qvm-prefs", vm]))
                .then(result => Object.assign(prefs, result.prefs))
                .catch(() => {})
                .then(() => { apply.disabled = false; window.qpci.reload(false); });
        });
        clear(pane, form);
    }

    // What a list shows of a device, the short facts first (a long description is cut off).
    function devLabel(d, changed) {
        return [d.id, changed ? "(changed: another device is at its port)" : null,
            d.iommu_group === null ? null : "[IOMMU group " + d.iommu_group + "]", d.description].filter(Boolean).join("  ");
    }

    function renderDevicesTab(pane, vm, vmRunning, out) {
        const devices = (window.qpci.state.devices || []).filter(d => !d.bridge);
        // The VM's assignments as qvm-ls --json has them. One whose port holds another card now is
        // listed, marked, to be removed (the rules' findings say why); one whose device is gone from
        // the host is among the findings only.
        const info = (window.qpci.state.vms || []).find(v => v.name === vm) || { devices: [] };
        const assigned = new Map();
        for (const a of info.devices)
            if ((a.present || a.device === "changed") && devices.some(d => d.id === a.id))
                assigned.set(a.id, { no_strict_reset: !!a.options["no-strict-reset"], permissive: !!a.options.permissive,
                                     persistent: !!a.persistent, attached: !!a.attached, changed: a.device === "changed" });
        const selected = new Map([...assigned].map(([k, v]) => [k, Object.assign({}, v)]));

        const avail = el("select", { multiple: true, size: 12, class: "qp-list", id: "available" });
        const chosen = el("select", { multiple: true, size: 12, class: "qp-list", id: "selected" });
        const add = el("button", { type: "button", class: "qp-btn qp-btn-secondary", id: "dev-add", "aria-label": "Add the devices chosen in Available" }, "Add ›");
        const remove = el("button", { type: "button", class: "qp-btn qp-btn-secondary", id: "dev-remove", "aria-label": "Remove the devices chosen in Selected" }, "‹ Remove");
        const optionsBox = el("div", { class: "qp-dev-options" });
        const facts = el("div", { class: "qp-verdict", "aria-live": "polite" });
        const preview = el("div", { class: "qp-preview" });
        const apply = el("button", { type: "button", class: "qp-btn qp-btn-primary", id: "devices-apply" }, "Apply");
        const filters = filterBar("avail", () => fill());

        function fill() {
            const f = filters.get();
            clear(avail, devices.filter(d => !selected.has(d.id) && f.re !== null && passes(d, f))
                .map(d => el("option", { value: d.id }, devLabel(d))));
            clear(chosen, devices.filter(d => selected.has(d.id)).map(d => el("option", { value: d.id }, devLabel(d, selected.get(d.id).changed))));
            fillOptions();
        }

        function move(ids, on) {
            for (const id of ids) {
                if (on && !selected.has(id))
                    selected.set(id, Object.assign({}, assigned.get(id) || { no_strict_reset: false, permissive: false }));
                if (!on)
                    selected.delete(id);
            }
            fill();
        }

        function chosenIds(select) {
            return [...select.selectedOptions].map(o => o.value);
        }

        add.addEventListener("click", () => move(chosenIds(avail), true));
        remove.addEventListener("click", () => move(chosenIds(chosen), false));
        avail.addEventListener("dblclick", ev => { if (ev.target.value) move([ev.target.value], true); });
        chosen.addEventListener("dblclick", ev => { if (ev.target.value) move([ev.target.value], false); });
        avail.addEventListener("keydown", ev => { if (ev.key === "Enter") { ev.preventDefault(); move(chosenIds(avail), true); } });
        chosen.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === "Delete") { ev.preventDefault(); move(chosenIds(chosen), false); } });

        // Qubes Manager's "Configure strict reset" dialog: no-strict-reset for every selected
        // device at once, with Qubes' warning; OK puts the choices into the devices' options.
        const strictOpen = el("button", { type: "button", class: "qp-btn qp-btn-secondary", id: "strict-reset-open" },
                              "Configure strict reset…");
        const strictDialog = el("dialog", { class: "qp-dialog", id: "strict-reset-dialog", "aria-labelledby": "strict-reset-h" });
        strictOpen.addEventListener("click", () => {
            const boxes = [...selected].map(([id, opts]) => {
                const d = devices.find(x => x.id === id);
                return { id, desc: d ? d.description : "", cb: el("input", { type: "checkbox", checked: opts.no_strict_reset, "data-id": id }) };
            });
            const ok = el("button", { type: "button", class: "qp-btn qp-btn-primary", id: "strict-reset-ok" }, "OK");
            const cancel = el("button", { type: "button", class: "qp-btn qp-btn-secondary", id: "strict-reset-cancel" }, "Cancel");
            ok.addEventListener("click", () => {
                for (const b of boxes)
                    selected.get(b.id).no_strict_reset = b.cb.checked;
                strictDialog.close();
                fillOptions();
            });
            cancel.addEventListener("click", () => strictDialog.close());
            clear(strictDialog,
                  el("h3", { id: "strict-reset-h" }, "Strict reset of " + vm + "'s PCI devices"),
                  el("p", { class: "qp-hint" }, "A checked device is used without a reliable reset (no-strict-reset)."),
                  boxes.length ? el("ul", { class: "qp-dialog-list" }, boxes.map(b => el("li", {},
                      el("label", {}, b.cb, " ", el("code", {}, b.id), " ", el("span", { class: "qp-muted" }, b.desc)))))
                      : el("p", { class: "qp-muted" }, "No device is selected."),
                  el("p", { class: "qp-alert qp-alert-warning", role: "note" }, warnings.noStrictReset),
                  el("div", { class: "qp-form-actions" }, ok, " ", cancel));
            strictDialog.showModal();
        });

        function fillOptions() {
            clear(optionsBox);
            for (const [id, opts] of selected) {
                const d = devices.find(x => x.id === id);
                const box = (key, label, warning) => {
                    const cb = el("input", { type: "checkbox", checked: opts[key], "data-option": key, "data-id": id });
                    const warn = el("p", { class: "qp-alert qp-alert-warning", role: "note", hidden: !opts[key] }, warning);
                    cb.addEventListener("change", () => { opts[key] = cb.checked; warn.hidden = !cb.checked; showFacts(); });
                    return el("div", {}, el("label", {}, cb, " " + label), warn);
                };
                optionsBox.append(el("fieldset", { class: "qp-dev-opt", "data-id": id },
                                     el("legend", {}, id + " ", el("span", { class: "qp-muted" }, d ? d.description : "")),
                                     box("no_strict_reset", "No strict reset (no-strict-reset)", warnings.noStrictReset),
                                     box("permissive", "Permissive (Xen's pciback)", warnings.permissive)));
            }
            showFacts();
        }

        // The rules' verdict on the selection before anything runs: qvm-pci check with the devices
        // added (one run per set of options), every finding as qpci words it; a device that must
        // go along gets one click to add it. The answer to an older selection is dropped.
        const ask = newest();
        function showFacts() {
            const list = commands();
            clear(preview, el("h3", {}, "Apply runs"),
                  list.length ? el("ul", { class: "qp-commands" }, list.map(a => el("li", {}, el("code", {}, commandLine(a)))))
                      : el("p", { class: "qp-muted" }, "nothing: no change."));
            const current = ask();
            const groups = new Map();
            for (const [id, opts] of selected)
                if (!assigned.has(id)) {
                    const key = JSON.stringify(opts);
                    if (!groups.has(key))
                        groups.set(key, { opts, ids: [] });
                    groups.get(key).ids.push(id);
                }
            const runs = groups.size ? [...groups.values()].map(g => ["qvm-pci", "check"].concat(optionArgs(g.opts), [vm], g.ids))
                : [["qvm-pci", "check", vm]];
            clear(facts, el("p", { class: "qp-loading" }, "Checking the rules…"));
            Promise.all(runs.map(argv => run(argv))).then(answers => {
                if (!current())
                    return;
                const seen = new Set();
                const findings = [];
                for (const f of answers.flatMap(a => a.findings))
                    if (!seen.has(f.code + f.bdf + f.error) && !removed(f.bdf)) {
                        seen.add(f.code + f.bdf + f.error);
                        findings.push(f);
                    }
                // The runs judge what is assigned now; a device the user removed no longer counts.
                renderFindings(findings, !findings.some(f => f.refusal), runs);
            }).catch(p => { if (current()) clear(facts, problem(p, "check")); });
        }

        function removed(bdf) {
            const d = devices.find(x => x.bdf === bdf);
            return d && assigned.has(d.id) && !selected.has(d.id);
        }

        function renderFindings(findings, allowed, runs) {
            const along = [...new Set(findings.filter(f => f.code === "goes-along" && f.other).map(f => f.other))]
                .map(b => devices.find(x => x.bdf === b)).filter(d => d && !selected.has(d.id)).map(d => d.id);
            const addAll = along.length ? el("button", { type: "button", class: "qp-btn qp-btn-secondary", id: "add-along" },
                                             "Add " + along.join(", ")) : null;
            if (addAll)
                addAll.addEventListener("click", () => move(along, true));
            clear(facts,
                  el("h3", {}, "The rules' verdict"),
                  el("p", { class: "qp-verdict-head " + (allowed ? "qp-verdict-ok" : "qp-verdict-no"), role: "status" },
                     allowed ? "The rules allow it." : "The rules refuse it as it is:"),
                  findings.length ? el("ul", { class: "qp-findings" }, findings.map(f =>
                      el("li", { class: "qp-finding qp-finding-" + f.code + (f.refusal ? " qp-refusal" : ""), "data-bdf": f.bdf },
                         el("span", { class: "qp-badge " + (f.refusal ? "qp-badge-warn" : "qp-badge-info") }, f.refusal ? "refused" : "note"), " ",
                         el("span", { class: "qp-finding-error" }, f.error),
                         f.reason ? el("span", { class: "qp-finding-reason" }, ": " + f.reason) : null,
                         f.fix ? el("span", { class: "qp-finding-fix" }, el("br"), el("strong", {}, "Fix: "), f.fix) : null,
                         f.vm ? el("span", { class: "qp-badge qp-finding-vm " + (f.vm_running ? "qp-badge-running" : "qp-badge-off") },
                                   f.vm + (f.vm_running ? ": running" : ": halted")) : null))) : null,
                  addAll,
                  el("p", { class: "qp-command" }, "From: ", runs.map(a => el("code", {}, commandLine(a.concat(["--json"])) + " "))));
        }

        function optionArgs(opts) {
            return [].concat(opts.no_strict_reset ? ["-o", "no-strict-reset=True"] : [], opts.permissive ? ["-o", "permissive=True"] : []);
        }

        // The commands a user would type for the change: for what left, unassign (the assignment)
        // and detach (from the running VM); attach -p what came (hot-plugged into a running VM),
        // assign -r again where only an option changed.
        function commands() {
            const list = [];
            for (const [id, was] of assigned)
                if (!selected.has(id)) {
                    if (was.persistent)
                        list.push(["qvm-pci", "unassign", vm, id]);
                    if (was.attached)
                        list.push(["qvm-pci", "detach", vm, id]);
                }
            for (const [id, opts] of selected) {
                const before = assigned.get(id);
                if (!before)
                    list.push(["qvm-pci", "attach", "-p"].concat(optionArgs(opts), [vm, id]));
                else if (before.no_strict_reset !== opts.no_strict_reset || before.permissive !== opts.permissive)
                    list.push(["qvm-pci", "assign", "-r", "-o", "no-strict-reset=" + (opts.no_strict_reset ? "True" : "False"),
                               "-o", "permissive=" + (opts.permissive ? "True" : "False"), vm, id]);
            }
            return list;
        }

        // Busy until the tab shows the VM as it is after. After a refusal the selection stays as
        // the user left it, to be corrected.
        apply.addEventListener("click", () => {
            apply.disabled = true;
            pane.setAttribute("aria-busy", "true");
            runAll(commands(), out).then(ok => window.qpci.reload(false).then(() => {
                apply.disabled = false;
                if (ok && window.location.hash.startsWith("#/vm/"))
                    renderDevicesTab(pane, vm, vmRunning, out);
                pane.removeAttribute("aria-busy");
            }));
        });

        clear(pane,
            filters.bar,
            el("div", { class: "qp-dual" },
               el("div", { class: "qp-dual-list" }, el("label", { for: "available" }, "Available devices"), avail),
               el("div", { class: "qp-dual-buttons" }, add, remove),
               el("div", { class: "qp-dual-list" }, el("label", { for: "selected" }, "Selected (" + vm + ")"), chosen)),
            vmRunning ? el("p", { class: "qp-hint" }, vm + " is running: devices added are hot-plugged, devices removed are unplugged.") : null,
            el("div", { class: "qp-form-actions" }, strictOpen), strictDialog,
            optionsBox, facts, preview, el("div", { class: "qp-form-actions" }, apply));
        fill();
    }

    function renderVmSettings(view, vm, tab) {
        const out = window.qpci.answers();
        const pane = el("div", { class: "qp-tabpane", role: "tabpanel", id: "vm-pane" }, el("p", { class: "qp-loading" }, "Loading…"));
        const tabLink = (name, label) => el("a", { class: "qp-tab" + (tab === name ? " qp-tab-active" : ""), role: "tab", id: "vm-tab-" + name,
                                                   "aria-selected": tab === name ? "true" : "false", "aria-controls": "vm-pane",
                                                   href: "#/vm/" + encodeURIComponent(vm) + "/" + name }, label);
        const info = (window.qpci.state.vms || []).find(v => v.name === vm);
        clear(view, 
            el("nav", { class: "qp-breadcrumb", "aria-label": "Breadcrumb" },
               el("a", { class: "qp-link", href: "#/vms" }, "VMs"), " › ", vm),
            el("section", { class: "qp-card", "aria-labelledby": "vm-h" },
               el("h2", { id: "vm-h" }, "Settings of " + vm + " ",
                  info ? el("span", { class: "qp-badge " + (info.running ? "qp-badge-running" : "qp-badge-off") }, info.state) : null),
               el("div", { class: "qp-tabs qp-subtabs", role: "tablist", "aria-label": "Settings" },
                  tabLink("basic", "Basic"), tabLink("devices", "Devices")),
               pane, out));
        // A change made elsewhere while the form is open is said, not poured into the form; a
        // Refresh (events null) draws it anew.
        window.qpci.refreshView = events => {
            if (!events)
                return renderVmSettings(view, vm, tab);
            const mine = events.filter(e => !e.vm || e.vm === vm);
            if (!mine.length || document.getElementById("vm-changed"))
                return;
            const reloadBtn = el("a", { class: "qp-link", href: "#/vm/" + encodeURIComponent(vm) + "/" + tab + "?" + Date.now() }, "Reload the settings");
            pane.before(el("div", { class: "qp-alert qp-alert-info", id: "vm-changed", role: "status" },
                            "Something changed since this opened (" + mine.map(e => e.type + (e.id ? " " + e.id : "")).join(", ") + "). ", reloadBtn));
        };
        run(["qvm-prefs", vm]).then(result => {
            const prefs = result.prefs;
            if (tab === "devices")
                renderDevicesTab(pane, vm, info ? info.running : false, out);
            else
                renderBasic(pane, vm, prefs, out);
        }).catch(p => clear(pane, problem(p, "vm-settings")));
    }

    Object.assign(window.qpci, { renderVmSettings });
})();
