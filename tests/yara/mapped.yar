// The first bytes of the locale.nls view every fixture process maps (fixtures/src/process.rs).

rule locale_view
{
    meta:
        severity = "low"
    strings:
        $view = "mapped view of \\Windows\\System32\\locale.nls"
    condition:
        $view
}
