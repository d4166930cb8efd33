// The host's picture: the PCI tree as boxes (root buses, bridges with what sits behind them),
// the functions of one device drawn as one unit (they go to a VM together), each function with
// its IOMMU group, and the USB devices behind each controller. A function opens to its page.
(function () {
    "use strict";
    const { el, clear, problem, run, category, stateText } = window.qpci;

    function slotOf(bdf) {
        return bdf.slice(0, bdf.lastIndexOf("."));
    }

    function chip(dev, usb) {
        const ctrl = usb.find(c => c.bdf === dev.bdf);
        const usbDevs = ctrl ? ctrl.buses.flatMap(b => b.devices).filter(u => !/^usb\d+$/.test(u.port)) : [];
        return el("li", { class: "qp-chip" + (dev.state === "hidden" ? " qp-chip-hidden" : ""), "data-id": dev.id },
                  el("a", { class: "qp-link", href: "#/device/" + encodeURIComponent(dev.id) },
                     el("span", { class: "qp-icon", "aria-hidden": "true" }, category(dev).icon), dev.id),
                  " ", el("span", { class: "qp-chip-name" }, dev.class_name || ""),
                  el("span", { class: "qp-badge qp-badge-info" }, dev.iommu_group === null ? "no IOMMU group" : "group " + dev.iommu_group),
                  el("span", { class: "qp-muted qp-chip-state" }, stateText(dev)),
                  (dev.used_by || []).length ? el("span", { class: "qp-chip-vm" }, "→ " + dev.used_by.map(u => u.vm).join(", ")) : null,
                  usbDevs.length ? el("ul", { class: "qp-chip-usb", "aria-label": "USB devices behind " + dev.id },
                                      usbDevs.map(u => el("li", { "data-port": u.port }, el("code", {}, u.port), " ", u.name || u.vendor_id + ":" + u.product_id)))
                      : null);
    }

    // What sits on one bus: bridges as boxes holding their own buses, the functions of a slot
    // together in one unit when there are several.
    function level(children, byParent, usb) {
        const slots = new Map();
        for (const d of children) {
            if (!slots.has(slotOf(d.bdf)))
                slots.set(slotOf(d.bdf), []);
            slots.get(slotOf(d.bdf)).push(d);
        }
        return el("ul", { class: "qp-level" }, [...slots.values()].map(fns => {
            const bridges = fns.filter(d => d.bridge);
            const others = fns.filter(d => !d.bridge);
            const items = [];
            if (others.length > 1)
                items.push(el("li", { class: "qp-unit", "data-slot": slotOf(others[0].bdf) },
                              el("p", { class: "qp-unit-title" }, "One device, " + others.length + " functions: they go to one VM together (unless no-strict-reset)"),
                              el("ul", { class: "qp-level" }, others.map(d => chip(d, usb)))));
            else if (others.length === 1)
                items.push(chip(others[0], usb));
            for (const b of bridges)
                items.push(el("li", { class: "qp-bridge-box", "data-id": b.id },
                              el("p", { class: "qp-bridge-title" }, el("span", { class: "qp-icon", "aria-hidden": "true" }, "⑂"),
                                 el("strong", {}, b.id), " ", b.description),
                              (byParent.get(b.bdf) || []).length ? level(byParent.get(b.bdf), byParent, usb)
                                  : el("p", { class: "qp-muted" }, "nothing behind it")));
            return items;
        }));
    }

    function renderMap(view) {
        const box = el("section", { class: "qp-card", "aria-labelledby": "map-h" }, el("h2", { id: "map-h" }, "The host's PCI tree"),
                       el("p", { class: "qp-loading" }, "Loading…"));
        clear(view, box);
        const draw = () => run(["qvm-pci", "usb"]).catch(() => []).then(usb => {
            const devices = window.qpci.state.devices || [];
            const known = new Set(devices.map(d => d.bdf));
            const byParent = new Map();
            for (const d of devices) {
                const p = d.parent && known.has(d.parent) ? d.parent : null;
                if (!byParent.has(p))
                    byParent.set(p, []);
                byParent.get(p).push(d);
            }
            for (const list of byParent.values())
                list.sort((a, b) => a.bdf.localeCompare(b.bdf));
            const roots = new Map();
            for (const d of byParent.get(null) || []) {
                const bus = d.bdf.slice(0, d.bdf.lastIndexOf(":"));
                if (!roots.has(bus))
                    roots.set(bus, []);
                roots.get(bus).push(d);
            }
            clear(box, el("h2", { id: "map-h" }, "The host's PCI tree"),
                  el("p", { class: "qp-hint" }, "Boxes are bridges with what sits behind them; a framed unit is one device's functions. " +
                     "Each function shows its IOMMU group: VFIO gives a group to one VM whole."),
                  [...roots].map(([bus, list]) => el("div", { class: "qp-root", "data-bus": bus },
                                                     el("h3", {}, "Root bus " + bus), level(list, byParent, usb))));
        }).catch(p => clear(box, problem(p, "map")));
        draw();
        window.qpci.refreshView = draw;
    }

    Object.assign(window.qpci, { renderMap });
})();
