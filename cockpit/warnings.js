// The warnings of Qubes OS's Assigning Devices page, shown wherever the page offers what they
// warn about: a VM's device options and a device's own page.
(function () {
    "use strict";
    window.qpci.warnings = {
        noStrictReset: "Disabling the reset requirement \"will also weaken device isolation\" (Qubes OS's " +
            "Assigning Devices page): the device is used without a reliable reset, so what one VM leaves in it can reach the " +
            "next VM that gets it. qpci records it as tainted.",
        permissive: "By setting the permissive flag for the PCI device, you're potentially weakening the " +
            "device isolation, especially if your system is not equipped with a VT-d Interrupt Remapping unit " +
            "(Qubes OS's Assigning Devices page). It applies on Xen (pciback).",
    };
})();
