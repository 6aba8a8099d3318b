// Rules over bytes the fixtures plant (fixtures/src/process.rs): tests/tests/yara.rs and
// tests/peer/yara.sh compare their matches with the ground truth and with Volatility 3.

rule shellcode_prologue : injection
{
    meta:
        severity = "high"
        description = "x64 shellcode prologue (cld; and rsp,-16; call ...) planted in private RWX memory"
    strings:
        $prologue = { FC 48 83 E4 F0 E8 C0 00 00 00 41 51 41 50 52 51 56 48 31 D2 65 48 8B 52 60 }
    condition:
        $prologue
}

// Decoy: the same prologue with its last byte changed; no fixture plants it.
rule shellcode_decoy
{
    meta:
        severity = "critical"
    strings:
        $prologue = { FC 48 83 E4 F0 E8 C0 00 00 00 41 51 41 50 52 51 56 48 31 D2 65 48 8B 52 61 }
    condition:
        $prologue
}
