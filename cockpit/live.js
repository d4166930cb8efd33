// Live updates: `qpci monitor --json` prints one line per change (a device bound, hidden or
// given back, a VM defined, started or stopped, an assignment changed), from udev and libvirt's
// events, as it happens. The page holds one, and reloads what the tools say a moment after a
// change, whoever made it (the command line, virsh, another browser).
(function () {
    "use strict";
    const q = window.qpci;
    const SETTLE_MS = 100; // a command's changes come in bursts: one reload for the burst
    let timer = null;
    let pending = [];

    function handle(line) {
        let ev;
        try {
            ev = JSON.parse(line);
        } catch (e) {
            return;
        }
        if (ev.type === "ready") {
            document.body.setAttribute("data-live", "yes");
            return;
        }
        pending.push(ev);
        if (timer === null)
            timer = window.setTimeout(flush, SETTLE_MS);
    }

    function flush() {
        timer = null;
        const events = pending;
        pending = [];
        q.reload(false).then(() => q.changed(events));
    }

    function start() {
        let buffer = "";
        const proc = cockpit.spawn([q.toolPath("qpci"), "monitor", "--json"], { superuser: "try", err: "message" });
        proc.stream(data => {
            buffer += data;
            let nl;
            while ((nl = buffer.indexOf("\n")) >= 0) {
                handle(buffer.slice(0, nl));
                buffer = buffer.slice(nl + 1);
            }
        });
        // Without it (an older qpci, or it ended) the page updates when asked: Refresh.
        proc.catch(() => document.body.setAttribute("data-live", "no"));
    }

    q.startLive = start;
})();
