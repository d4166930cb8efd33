// Cockpit's light or dark theme: the shell keeps the user's choice in localStorage
// ("shell:style": auto, light or dark) and its pages follow it with the class pf-theme-dark on
// <html>; "auto" follows the browser's colour scheme. The page follows both as they change.
(function () {
    "use strict";
    const media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

    function apply() {
        let style = "auto";
        try {
            style = window.localStorage.getItem("shell:style") || "auto";
        } catch (e) { /* storage refused: follow the browser */ }
        const dark = style === "dark" || (style === "auto" && media !== null && media.matches);
        document.documentElement.classList.toggle("pf-theme-dark", dark);
    }

    apply();
    window.addEventListener("storage", apply);
    window.addEventListener("cockpit-style", apply);
    if (media && media.addEventListener)
        media.addEventListener("change", apply);
})();
