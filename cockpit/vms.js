// The VMs view: every libvirt domain qpci sees, with its state, memory and PCI devices, started
// and shut down with qvm-start and qvm-shutdown.
(function () {
    "use strict";
    const { el, clear, problem, success, run, commandNote } = window.qpci;

    // qvm-ls prints a table (NAME, STATE, MEMORY, DEVICES) whose columns start where their
    // headings do; MEMORY is right-aligned under its heading.
    function parseQvmLs(text) {
        const lines = text.split("\n").filter(l => l.trim() !== "");
        if (lines.length === 0)
            return [];
        const head = lines[0];
        const stateAt = head.indexOf("STATE");
        const devAt = head.indexOf("DEVICES");
        if (!head.startsWith("NAME") || stateAt < 0 || devAt < 0)
            throw { error: "qvm-ls printed a table this page does not know: " + head };
        return lines.slice(1).map(line => {
            const rest = line.slice(stateAt);
            const state = rest.split(/\s+/)[0];
            return {
                name: line.slice(0, stateAt).trim(),
                state,
                memory: line.slice(stateAt + state.length, devAt).trim(),
                devices: line.slice(devAt).split(/[\s,]+/).filter(Boolean),
            };
        });
    }

    function loadVms() {
        return run(["qvm-ls"]).then(parseQvmLs);
    }

    function renderVms(view) {
        const vms = window.qpci.state.vms || [];
        const out = el("div", { class: "qp-action-out", "aria-live": "polite" });
        const body = el("tbody", {}, vms.map(vm => {
            const running = vm.state === "Running";
            const act = (label, argv) => {
                const b = el("button", { type: "button", class: "qp-btn qp-btn-secondary", "data-action": label.toLowerCase() }, label);
                b.addEventListener("click", () => {
                    b.disabled = true;
                    clear(out, el("p", { class: "qp-muted" }, "Running " + window.qpci.commandLine(argv) + "…"));
                    run(argv).then(t => clear(out, success(t.trim() || label + ": done."), commandNote(argv)))
                        .catch(p => clear(out, problem(p, "vm-action"), commandNote(argv)))
                        .then(() => window.qpci.reload(false))
                        .then(() => { if (window.qpci.currentView() === "vms") renderVms(view, out); });
                });
                return b;
            };
            return el("tr", { "data-vm": vm.name },
                      el("td", { "data-label": "Name" }, el("a", { class: "qp-link", href: "#/vm/" + encodeURIComponent(vm.name) }, vm.name)),
                      el("td", { "data-label": "State" }, el("span", { class: "qp-badge " + (running ? "qp-badge-running" : "qp-badge-off") }, vm.state)),
                      el("td", { "data-label": "Memory" }, vm.memory + " MiB"),
                      el("td", { "data-label": "Devices" }, vm.devices.length ? vm.devices.join(", ") : el("span", { class: "qp-muted" }, "none")),
                      el("td", { "data-label": "Actions", class: "qp-row-actions" },
                         running ? act("Shut down", ["qvm-shutdown", vm.name]) : act("Start", ["qvm-start", vm.name]),
                         el("a", { class: "qp-btn qp-btn-link", href: "#/vm/" + encodeURIComponent(vm.name) }, "Settings")));
        }));
        const section = el("section", { class: "qp-card", "aria-labelledby": "vms-h" },
                           el("h2", { id: "vms-h" }, "VMs"),
                           window.qpci.state.vmsProblem ? problem(window.qpci.state.vmsProblem, "vms") : null,
                           vms.length || window.qpci.state.vmsProblem ? null : el("p", { class: "qp-muted" }, "No VMs (qvm-create makes one)."),
                           el("div", { class: "qp-table-wrap" },
                              el("table", { class: "qp-table qp-vms", "aria-label": "VMs" },
                                 el("thead", {}, el("tr", {}, ["Name", "State", "Memory", "PCI devices", "Actions"].map(h => el("th", { scope: "col" }, h)))),
                                 body)),
                           out);
        const keep = arguments[1];
        if (keep)
            clear(out, ...keep.childNodes);
        clear(view, section);
    }

    Object.assign(window.qpci, { loadVms, renderVms });
})();
