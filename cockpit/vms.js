// The VMs view: every libvirt domain qpci sees, with its state, memory and PCI devices, started
// and shut down with qvm-start and qvm-shutdown.
(function () {
    "use strict";
    const { el, clear, problem } = window.qpci;

    function loadVms() {
        return window.qpci.run(["qvm-ls"]);
    }

    function renderVms(view) {
        const out = window.qpci.answers();
        const body = el("tbody");
        const note = el("div");

        // After: the view shown then (not this one if the user went elsewhere meanwhile).
        const act = (label, argv) => window.qpci.actionButton(label, argv, out, () => window.qpci.reload(false).then(() => window.qpci.changed([])));

        // The rows only: an answer shown below the table stays when they change. A VM's row
        // stays the same element while what it shows is the same, so that a click on its button
        // (or the keyboard's focus on it) survives an update.
        let rows = new Map();
        function fill() {
            const vms = window.qpci.state.vms || [];
            const trouble = window.qpci.state.vmsProblem;
            clear(note, trouble ? problem(trouble, "vms") : null,
                  vms.length || trouble ? null : el("p", { class: "qp-muted" }, "No VMs (qvm-create makes one)."));
            const next = new Map(vms.map(vm => {
                const key = JSON.stringify([vm.name, vm.state, vm.running, vm.memory, vm.devices.map(d => d.id)]);
                return [key, rows.get(key) || row(vm)];
            }));
            [...next.values()].forEach((tr, i) => { if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null); });
            while (body.children.length > next.size)
                body.lastElementChild.remove();
            rows = next;
        }

        function row(vm) {
            return el("tr", { "data-vm": vm.name },
                el("td", { "data-label": "Name" }, el("a", { class: "qp-link", href: "#/vm/" + encodeURIComponent(vm.name) }, vm.name)),
                el("td", { "data-label": "State" }, el("span", { class: "qp-badge " + (vm.running ? "qp-badge-running" : "qp-badge-off") }, vm.state)),
                el("td", { "data-label": "Memory" }, vm.memory + " MiB"),
                el("td", { "data-label": "Devices" }, vm.devices.length ? vm.devices.map(d => d.id).join(", ") : el("span", { class: "qp-muted" }, "none")),
                el("td", { "data-label": "Actions", class: "qp-row-actions" },
                   vm.running ? act("Shut down", ["qvm-shutdown", vm.name]) : act("Start", ["qvm-start", vm.name]),
                   el("a", { class: "qp-btn qp-btn-link", href: "#/vm/" + encodeURIComponent(vm.name) }, "Settings")));
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
