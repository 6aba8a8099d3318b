"""MemProcFS's side of the triage benchmark (bench/triage.sh).

usage: python memprocfs_triage.py CAPTURE

Does what an analyst asks MemProcFS for in a triage, the same ground `memtriage report`
covers: initialise on the raw capture (kernel, process list), every process's VADs and
modules, and FindEvil (which needs MemProcFS's forensic scan of all physical memory).
Offline: the Microsoft symbol server and the Python plugins are disabled. Prints one JSON
line with what it found (so a run that silently found nothing is visible), exit 1 when
initialisation fails.
"""

import json
import sys
import time

import memprocfs


def forensic_done(vmm):
    """Whether the forensic scan (FindEvil's prerequisite) has finished."""
    try:
        text = vmm.vfs.read("/forensic/progress_percent.txt", 16)
    except Exception:  # noqa: BLE001 - the file appears once forensic mode has started
        return False
    digits = bytes(text).decode("ascii", "replace").strip()
    return digits.isdigit() and int(digits) >= 100


def main():
    image = sys.argv[1]
    try:
        vmm = memprocfs.Vmm(
            ["-device", image, "-disable-symbolserver", "-disable-python", "-forensic", "1"]
        )
    except Exception as e:  # noqa: BLE001 - MemProcFS raises a bare Exception
        print(json.dumps({"error": f"MemProcFS could not initialise: {e}"}))
        return 1
    procs = vmm.process_list()
    vads = 0
    modules = 0
    for p in procs:
        try:
            vads += len(p.maps.vad())
            modules += len(p.module_list())
        except Exception:  # noqa: BLE001 - a process whose memory MemProcFS cannot read
            pass
    deadline = time.monotonic() + 600
    while not forensic_done(vmm) and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        evil = bytes(vmm.vfs.read("/forensic/findevil/findevil.txt", 1 << 24)).decode(
            "utf-8", "replace"
        )
    except Exception:  # noqa: BLE001
        evil = ""
    rows = [line for line in evil.splitlines() if line.strip()]
    print(
        json.dumps(
            {
                "processes": len(procs),
                "vads": vads,
                "modules": modules,
                "findevil_lines": len(rows),
                "forensic_done": forensic_done(vmm),
            }
        )
    )
    vmm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
