// The VMs view: every libvirt domain qpci sees, with its state, memory and PCI devices, started
// and shut down with qvm-start and qvm-shutdown.
(function () {
    "use strict";
    const { el, clear, problem } = window.qpci;

    function loadVms() {
        return window.qpci.run(["qvm-ls"]);
    }

    function renderVms(view) {
        const out = el("div", { class: "qp-action-out", "aria-live": "polite" });
        const body = el("tbody");
        const note = el("div");

        const act = (label, argv) => window.qpci.actionButton(label, argv, out, () => window.qpci.reload(false).then(fill));

        // The rows only: an answer shown below the table stays when they change.
        function fill() {
            const vms = window.qpci.state.vms || [];
            const trouble = window.qpci.state.vmsProblem;
            clear(note, trouble ? problem(trouble, "vms") : null,
                  vms.length || trouble ? null : el("p", { class: "qp-muted" }, "No VMs (qvm-create makes one)."));
            clear(body, vms.map(vm => el("tr", { "data-vm": vm.name },
                el("td", { "data-label": "Name" }, el("a", { class: "qp-link", href: "#/vm/" + encodeURIComponent(vm.name) }, vm.name)),
                el("td", { "data-label": "State" }, el("span", { class: "qp-badge " + (vm.running ? "qp-badge-running" : "qp-badge-off") }, vm.state)),
                el("td", { "data-label": "Memory" }, vm.memory + " MiB"),
                el("td", { "data-label": "Devices" }, vm.devices.length ? vm.devices.map(d => d.id).join(", ") : el("span", { class: "qp-muted" }, "none")),
                el("td", { "data-label": "Actions", class: "qp-row-actions" },
                   vm.running ? act("Shut down", ["qvm-shutdown", vm.name]) : act("Start", ["qvm-start", vm.name]),
                   el("a", { class: "qp-btn qp-btn-link", href: "#/vm/" + encodeURIComponent(vm.name) }, "Settings")))));
        }

        clear(view, el("section", { class: "qp-card", "aria-labelledby": "vms-h" },
                       el("h2", { id: "vms-h" }, "VMs"), note,
                       el("div", { class: "qp-table-wrap" },
                          el("table", { class: "qp-table qp-vms", "aria-label": "VMs" },
                             el("thead", {}, el("tr", {}, ["Name", "State", "Memory", "PCI devices", "Actions"].map(h => el("th", { scope: "col" }, h)))),
                             body)),
                       out));
        fill();
        window.qpci.refreshView = fill;
    }

    Object.assign(window.qpci, { loadVms, renderVms });
})();
