// The VMs view: every libvirt domain qpci sees, with its state, memory and PCI devices, started
// and shut down with qvm-start and qvm-shutdown.
(function () {
    "use strict";
    const { el, clear, problem, success, run, summary, commandNote } = window.qpci;

    function loadVms() {
        return window.qpci.run(["qvm-ls"]);
    }

    function renderVms(view) {
        const vms = window.qpci.state.vms || [];
        const out = el("div", { class: "qp-action-out", "aria-live": "polite" });
        const body = el("tbody", {}, vms.map(vm => {
            const running = vm.running;
            const act = (label, argv) => {
                const b = el("button", { type: "button", class: "qp-btn qp-btn-secondary", "data-action": label.toLowerCase() }, label);
                b.addEventListener("click", () => {
                    b.disabled = true;
                    clear(out, el("p", { class: "qp-muted" }, "Running " + window.qpci.commandLine(argv) + "…"));
                    run(argv).then(r => clear(out, success(summary(argv, r)), commandNote(argv)))
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
                      el("td", { "data-label": "Devices" }, vm.devices.length ? vm.devices.map(d => d.id).join(", ") : el("span", { class: "qp-muted" }, "none")),
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
