// The page: what the tools said last (devices, VMs), the views, and which one the URL's hash
// names (#/devices, #/device/ID, #/map, #/usb, #/vms, #/vm/NAME/basic|devices).
(function () {
    "use strict";
    const q = window.qpci;
    const { el, clear, problem } = q;

    q.state = { devices: null, vms: null, devicesProblem: null, vmsProblem: null };

    function route() {
        const parts = window.location.hash.replace(/^#\/?/, "").split("?")[0].split("/").map(decodeURIComponent);
        return { view: parts[0] || "devices", arg: parts[1], sub: parts[2] };
    }

    // Reloads what the tools say; render: show the current view again with it (the view is
    // aria-busy meanwhile).
    function reload(render) {
        const view = document.getElementById("view");
        if (render)
            view.setAttribute("aria-busy", "true");
        const devices = q.run(["qvm-pci"])
            .then(d => { q.state.devices = d; q.state.devicesProblem = null; })
            .catch(p => { q.state.devicesProblem = p; });
        const vms = q.loadVms()
            .then(v => { q.state.vms = v; q.state.vmsProblem = null; })
            .catch(p => { q.state.vms = []; q.state.vmsProblem = p; });
        return Promise.all([devices, vms]).then(() => {
            if (render) {
                show();
                view.removeAttribute("aria-busy");
            }
        });
    }

    // The place shown (the URL's hash), and where the answers of its actions go (q.answers()).
    // Shown again at the same place (Refresh, which may end after an action was clicked), a view
    // updates in place (q.refreshView(null)): a button drawn anew between the press and the
    // release of a click swallows it. A view drawn anew there keeps the answers, into which an
    // action still running writes.
    let shown = null;
    let answers = null;

    function show() {
        const view = document.getElementById("view");
        if (window.location.hash === shown && q.refreshView) {
            q.refreshView(null);
            return;
        }
        if (window.location.hash !== shown) {
            shown = window.location.hash;
            answers = el("div", { class: "qp-action-out", "aria-live": "polite" });
        }
        q.refreshView = null;
        const r = route();
        for (const t of ["devices", "map", "usb", "vms"]) {
            const tab = document.getElementById("tab-" + t);
            const on = r.view === t || (t === "devices" && r.view === "device") || (t === "vms" && r.view === "vm");
            tab.classList.toggle("qp-tab-active", on);
            if (on)
                tab.setAttribute("aria-current", "page");
            else
                tab.removeAttribute("aria-current");
        }
        if (q.state.devicesProblem && r.view !== "vms" && r.view !== "vm") {
            clear(view, problem(q.state.devicesProblem, "devices"));
            return;
        }
        if (r.view === "device" && r.arg)
            q.renderDevice(view, r.arg);
        else if (r.view === "map")
            q.renderMap(view);
        else if (r.view === "usb")
            q.renderUsb(view);
        else if (r.view === "vms")
            q.renderVms(view);
        else if (r.view === "vm" && r.arg)
            q.renderVmSettings(view, r.arg, r.sub === "devices" ? "devices" : "basic");
        else
            q.renderDevices(view);
        document.body.setAttribute("data-view", r.view);
    }

    // After changes made elsewhere (qpci monitor): a list shows them at once; a view with a
    // form or an answer on it updates in place (q.refreshView(events)), or says what changed.
    function changed(events) {
        if (q.refreshView)
            q.refreshView(events);
    }

    q.reload = reload;
    q.answers = () => answers;
    q.changed = changed;
    q.currentView = () => route().view;

    window.addEventListener("hashchange", show);
    document.getElementById("refresh").addEventListener("click", () => reload(true));
    q.watchAdmin(admin => {
        document.getElementById("readonly").hidden = admin !== false;
        document.body.setAttribute("data-admin", admin ? "yes" : "no");
    });
    q.startAdminWatch();
    reload(true).finally(() => document.body.setAttribute("data-ready", "yes"));
    q.startLive();
})();
