// qpci's own commands, run on the host through Cockpit's bridge, and their answers. The page
// decides nothing about devices or VMs: what can be assigned, and why not, is what the tools say
// (their --json, their refusals), so the page and the command line never disagree.
(function () {
    "use strict";
    const { el } = window.qpci;

    let admin = null;          // does this session have administrative access? null: not known yet
    const adminListeners = [];

    function path(tool) {
        const dir = window.QPCI_BINDIR || "";
        return dir ? dir + "/" + tool : tool;
    }

    // Runs a tool as root when the session may ("try": as the user otherwise, so a session
    // without administrative access gets the tool's own refusal). Resolves with its stdout;
    // rejects with a problem: {error, reason, fix, code, admin}.
    function run(argv) {
        const command = [path(argv[0])].concat(argv.slice(1));
        return new Promise((resolve, reject) => {
            cockpit.spawn(command, { superuser: "try", err: "message" })
                .then(out => resolve(out))
                .catch(ex => reject(problemOf(ex, argv)));
        });
    }

    function runJson(argv) {
        return run(argv).then(out => {
            try {
                return JSON.parse(out);
            } catch (e) {
                throw { error: argv.join(" ") + " did not give JSON: " + e.message };
            }
        });
    }

    // qpci's --json errors are one object {"error", "reason", "fix", "code"} on stderr; the text
    // ones are one line. Either is shown as the tool said it.
    function problemOf(ex, argv) {
        const text = String((ex && ex.message) || ex || "").trim();
        const needsAdmin = admin === false;
        for (const line of text.split("\n")) {
            try {
                const j = JSON.parse(line);
                if (j && typeof j === "object" && j.error)
                    return { error: String(j.error), reason: j.reason, fix: j.fix, code: j.code, admin: needsAdmin };
            } catch (e) { /* a text message */ }
        }
        if (ex && ex.problem && !text)
            return { error: argv.join(" ") + ": " + cockpit.message(ex), admin: needsAdmin };
        return {
            error: text || argv.join(" ") + " failed (exit status " + (ex && ex.exit_status) + ")",
            admin: needsAdmin,
        };
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

    Object.assign(window.qpci, { run, runJson, commandLine, commandNote, watchAdmin, startAdminWatch });
})();
