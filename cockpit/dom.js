// Building the page's elements. Every string goes in as text (textContent, attributes through
// setAttribute): device, driver and VM names come from hardware, udev and libvirt, and a name
// with markup in it must show as that markup, never run.
(function () {
    "use strict";

    // el("button", {class: "x", "aria-label": "...", onclick: fn}, "text", child, ...)
    function el(tag, props, ...children) {
        const node = document.createElement(tag);
        for (const [key, value] of Object.entries(props || {})) {
            if (value === undefined || value === null || value === false)
                continue;
            if (key.startsWith("on") && typeof value === "function")
                node.addEventListener(key.slice(2), value);
            else if (key === "class")
                node.className = value;
            else if (key === "checked" || key === "value" || key === "disabled" || key === "selected")
                node[key] = value;
            else
                node.setAttribute(key, value === true ? "" : String(value));
        }
        append(node, children);
        return node;
    }

    function append(node, children) {
        for (const child of children.flat(Infinity)) {
            if (child === undefined || child === null || child === false)
                continue;
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
        }
        return node;
    }

    // Empties a node and puts children in (arrays flattened, null and false left out).
    function clear(node, ...children) {
        while (node.firstChild)
            node.firstChild.remove();
        return append(node, children);
    }

    // A refusal or failure as qpci words it: what went wrong, why, and what to do.
    function problem(p, where) {
        return el("div", { class: "qp-alert qp-alert-danger", role: "alert", "data-where": where },
                  el("p", { class: "qp-alert-title" }, p.error),
                  p.reason ? el("p", { class: "qp-alert-reason" }, p.reason) : null,
                  p.fix ? el("p", { class: "qp-alert-fix" }, el("strong", {}, "Fix: "), p.fix) : null,
                  p.admin ? el("p", { class: "qp-alert-admin" },
                               "Administrative access is needed for this: turn it on with Cockpit's \"Limited access\" button.")
                      : null);
    }

    function success(text) {
        return el("div", { class: "qp-alert qp-alert-success", role: "status" }, el("pre", {}, text));
    }

    // One labelled form control; the label's for= ties them for screen readers.
    let nextId = 0;
    function field(label, control, hint) {
        if (!control.id)
            control.id = "qp-f" + (++nextId);
        const hintNode = hint ? el("p", { class: "qp-hint", id: control.id + "-hint" }, hint) : null;
        if (hintNode)
            control.setAttribute("aria-describedby", hintNode.id);
        return el("div", { class: "qp-field" }, el("label", { for: control.id }, label), control, hintNode);
    }

    window.qpci = window.qpci || {};
    Object.assign(window.qpci, { el, append, clear, problem, success, field });
})();
