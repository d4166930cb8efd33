// The USB finder: a pasted lsusb line (or a bus, VID:PID or port, or a USB device picked from
// the list of all, which shows while nothing is asked) gives the PCI controller it
// sits behind and what goes along with it (`qvm-pci usb QUERY --json`), the steps of Qubes OS's
// Assigning Devices page in one.
(function () {
    "use strict";
    const { el, clear, problem, field, run, usbTree, commandNote, newest } = window.qpci;

    let lastQuery = "";

    function renderUsb(view) {
        const input = el("input", { type: "text", class: "qp-input qp-wide", id: "usb-query", value: lastQuery,
                                    placeholder: "Bus 003 Device 003: ID 413c:818d Dell Computer Corp.", autocomplete: "off" });
        const out = el("div", { class: "qp-usb-out", "aria-live": "polite" });
        const form = el("form", { class: "qp-usb-form" },
                        field("lsusb line, bus number, VID:PID or port", input,
                              "Paste a line of lsusb's output, or pick a USB device from the list shown while this is empty: the page names the PCI controller it is behind."),
                        el("button", { type: "submit", class: "qp-btn qp-btn-primary", id: "usb-find" }, "Find the controller"));
        form.addEventListener("submit", ev => {
            ev.preventDefault();
            find(input.value.trim(), out, input);
        });
        clear(view, el("section", { class: "qp-card", "aria-labelledby": "usb-h" },
                                el("h2", { id: "usb-h" }, "Which USB controller?"), form, out));
        find(lastQuery, out, input);
        window.qpci.refreshView = () => find(lastQuery, out, input);
    }

    // The view opens with the last query while the user may already be asking another.
    const ask = newest();
    function find(query, out, input) {
        lastQuery = query;
        const argv = ["qvm-pci", "usb"].concat(query ? [query] : []);
        const current = ask();
        clear(out, el("p", { class: "qp-loading" }, "Looking…"));
        run(argv).then(controllers => {
            if (!current())
                return;
            clear(out);
            if (query)
                out.append(el("p", { class: "qp-result", role: "status" }, controllers.length === 1
                    ? "It is behind " + controllers[0].id + "."
                    : "Behind " + controllers.length + " controllers: " + controllers.map(c => c.id).join(", ") + "."));
            for (const c of controllers) {
                const along = (c.siblings || []).map(b => ((window.qpci.state.devices || []).find(d => d.bdf === b) || { id: b }).id);
                out.append(el("div", { class: "qp-card qp-usb-result", "data-id": c.id },
                    usbTree([c], query ? null : port => { input.value = port; find(port, out, input); }),
                    along.length ? el("p", { class: "qp-alert qp-alert-info" },
                                      "Also goes along: " + along.join(", ") + " (functions of the same device).") : null,
                    el("p", {}, "Assigning the controller gives the VM everything listed above; the host loses it. ",
                       el("a", { class: "qp-link", href: "#/device/" + encodeURIComponent(c.id) }, "Open " + c.id))));
            }
        }).catch(p => { if (current()) clear(out, problem(p, "usb"), commandNote(argv)); });
    }

    Object.assign(window.qpci, { renderUsb });
})();
