// qpci's own commands, run on the host through Cockpit's bridge, and their answers. The page
// decides nothing about devices or VMs: what can be assigned, and why not, is what the tools say
// (their --json, their refusals), so the page and the command line never disagree.
(function () {
    "use strict";
    const { el, clear, success, problem } = window.qpci;

    let admin = null;          // does this session have administrative access? null: not known yet
    const adminListeners = [];

    function path(tool) {
        const dir = window.QPCI_BINDIR || "";
        return dir ? dir + "/" + tool : tool;
    }

    // Runs a tool as root when the session may ("try": as the user otherwise, so a session
    // without administrative access gets the tool's own refusal), with --json: resolves with
    // what it printed, parsed; rejects with a problem {error, reason, fix, code, admin}.
    function run(argv) {
        const command = [path(argv[0])].concat(argv.slice(1), ["--json"]);
        return new Promise((resolve, reject) => {
            cockpit.spawn(command, { superuser: "try", err: "message" })
                .then(out => {
                    try {
                        resolve(JSON.parse(out));
                    } catch (e) {
                        reject({ error: commandLine(argv) + " did not give JSON: " + e.message });
                    }
                })
                .catch((ex, out) => reject(problemOf(ex, out, argv)));
        });
    }

    // A refusal with --json is one object on stdout: {"error", "reason", "fix", "code"}. Without
    // one (the tool could not even start), stderr or Cockpit's own words.
    function problemOf(ex, out, argv) {
        const needsAdmin = admin === false;
        try {
            const j = JSON.parse(out || "");
            if (j && typeof j === "object" && j.error)
                return { error: String(j.error), reason: j.reason, fix: j.fix, code: j.code, admin: needsAdmin };
        } catch (e) { /* not JSON */ }
        const text = String((ex && ex.message) || "").trim();
        if (text)
            return { error: text, admin: needsAdmin };
        return { error: commandLine(argv) + ": " + (ex && ex.problem ? cockpit.message(ex) : "exit status " + (ex && ex.exit_status)),
                 admin: needsAdmin };
    }

    // What a command that changed something says it did, in a line or a few.
    function summary(argv, result) {
        const lines = [];
        if (result && result.method)
            lines.push(result.id + " was reset (" + result.method + ").");
        for (const m of (result && result.moved) || [])
            lines.push(m.id + ": " + (m.from || "no driver") + " → " + (m.to || "no driver"));
        if (result && result.action === "permissive")
            lines.push(result.id + (result.permissive ? " is permissive: a VM may write most of its config space."
                : " is not permissive, now or at boot."));
        else if (result && result.persistent)
            lines.push("Kept hidden across reboots (/etc/udev/rules.d/40-qpci-hide.rules).");
        if (result && result.vm && result.vm.name)
            lines.push(result.vm.name + ": " + (result.vm.devices.length ? result.vm.devices.map(d => d.id).join(", ") : "no PCI devices") + ".");
        return lines.length ? lines.join("\n") : "Done.";
    }

    // The command line a user would type for the same thing, shown beside each action.
    function commandLine(argv) {
        return argv.map(a => /^[\w@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'").join(" ");
    }

    function watchAdmin(fn) {
        adminListeners.push(fn);
        if (admin !== null)
            fn(admin);
    }

    function startAdminWatch() {
        const perm = cockpit.permission({ admin: true });
        const update = () => {
            if (perm.allowed === null)
                return;
            admin = perm.allowed;
            adminListeners.forEach(fn => fn(admin));
        };
        perm.addEventListener("changed", update);
        update();
    }

    function commandNote(argv) {
        return el("p", { class: "qp-command" }, el("span", { class: "qp-muted" }, "Command: "),
                  el("code", {}, commandLine(argv)));
    }

    // A button that runs one command (argv, or a function giving it when clicked) and shows
    // what it did, or its refusal, in out; then after().
    function actionButton(label, argv, out, after) {
        const btn = el("button", { type: "button", class: "qp-btn qp-btn-secondary", "data-action": label.toLowerCase() }, label);
        btn.addEventListener("click", () => {
            const args = typeof argv === "function" ? argv() : argv;
            btn.disabled = true;
            clear(out, el("p", { class: "qp-muted" }, "Running " + commandLine(args) + "…"));
            run(args)
                .then(result => clear(out, success(summary(args, result)), commandNote(args)))
                .catch(p => clear(out, problem(p, "action"), commandNote(args)))
                .then(() => { btn.disabled = false; after(); });
        });
        return btn;
    }

    // For a view that asks again before the last answer came: each call of the function newest()
    // gives starts a question and returns a check saying whether it is still the newest one. An
    // older answer can come last, and is then dropped.
    function newest() {
        let seq = 0;
        return () => {
            const mine = ++seq;
            return () => mine === seq;
        };
    }

    Object.assign(window.qpci, { actionButton, toolPath: path, run, summary, commandLine, commandNote, watchAdmin, startAdminWatch,
                                 newest });
})();
