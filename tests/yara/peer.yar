// Rules of the Volatility 3 peer check (tests/peer/yara.sh): Volatility's windows.vadyarascan
// (with the yara-x Python package) and memtriage yarascan must report the same
// (pid, rule, address) set over the same capture.

rule shellcode_prologue : injection
{
    meta:
        severity = "high"
    strings:
        $prologue = { FC 48 83 E4 F0 E8 C0 00 00 00 41 51 41 50 52 51 56 48 31 D2 65 48 8B 52 60 }
    condition:
        $prologue
}

// Written 8 times on each of the first 4 pages of every process's private data region: two
// valid pages, two in transition (fixtures/src/process.rs).
rule fixture_data
{
    strings:
        $fill = "fixture-data pid="
    condition:
        $fill
}

rule locale_view
{
    strings:
        $view = "mapped view of \\Windows\\System32\\locale.nls"
    condition:
        $view
}

// Every PE image in memory: image mappings, injected and hollowed PEs, decoys.
rule dos_stub
{
    strings:
        $stub = "This program cannot be run in DOS mode"
    condition:
        $stub
}

// Decoy: no fixture plants it.
rule shellcode_decoy
{
    strings:
        $prologue = { FC 48 83 E4 F0 E8 C0 00 00 00 41 51 41 50 52 51 56 48 31 D2 65 48 8B 52 61 }
    condition:
        $prologue
}
