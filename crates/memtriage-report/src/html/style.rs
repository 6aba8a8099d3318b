//! The page's inline style sheet: light and dark colour schemes and a print layout.

/// The CSS of the report page and of the fleet index.
pub const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1d2126;--muted:#5d6670;--line:#d5d9de;--card:#fff;
--accent:#0b5cad;--high:#c0262d;--medium:#c76a00;--low:#7a7f00;--info:#4b6b8a;
--c-image:#8e5fc2;--c-mapped:#3f86d1;--c-share:#2aa3a3;--c-heap:#e0833a;--c-managed:#4caf50;
--c-stack:#d9b300;--c-private:#f2c75c;--c-unusable:#9aa0a6;--c-other:#c7a2a2}
@media (prefers-color-scheme:dark){:root{--bg:#15181c;--fg:#e3e6ea;--muted:#9aa3ad;--line:#343a41;
--card:#1d2127;--accent:#6fb0f2;--high:#ff6b6b;--medium:#f5a142;--low:#d6d65a;--info:#8fb3d6;
--c-image:#a97fe0;--c-mapped:#5aa2eb;--c-share:#3cc2c2;--c-heap:#f09a52;--c-managed:#66c46a;
--c-stack:#e8c62a;--c-private:#e6bf52;--c-unusable:#7d848c;--c-other:#b38f8f}.sev{color:#14171b}}
*{box-sizing:border-box}
body{margin:0;padding:1.2rem 1.6rem 3rem;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
h1{font-size:1.45rem;margin:0 0 .2rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:2px solid var(--line);padding-bottom:.2rem}
h3{font-size:1.05rem;margin:0 0 .4rem}
a{color:var(--accent)}
code,.mono,td.num,.addr{font-family:ui-monospace,"SFMono-Regular",Consolas,"DejaVu Sans Mono",monospace;font-size:.86em}
.muted{color:var(--muted)}
.meta{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);gap:.1rem 1rem;margin:.6rem 0;max-width:80rem}
.meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}
.summary{display:flex;gap:.6rem;flex-wrap:wrap;margin:.6rem 0}
.pill{border:1px solid var(--line);border-radius:999px;padding:.1rem .7rem;background:var(--card);color:var(--fg);text-decoration:none}
table{border-collapse:collapse;width:100%;background:var(--card);margin:.3rem 0 .8rem}
th,td{border-bottom:1px solid var(--line);padding:.22rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85em}
td.num{text-align:right;white-space:nowrap}
td.wrap{overflow-wrap:anywhere;max-width:38rem}
.sev{display:inline-block;min-width:4.6em;text-align:center;border-radius:4px;padding:0 .35rem;color:#fff;font-weight:600;font-size:.8em;text-transform:uppercase}
.sev-high{background:var(--high);fill:var(--high)}.sev-medium{background:var(--medium);fill:var(--medium)}
.sev-low{background:var(--low);fill:var(--low)}.sev-info{background:var(--info);fill:var(--info)}
.finding{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--line);border-radius:6px;padding:.5rem .8rem;margin:.5rem 0}
.finding.high{border-left-color:var(--high)}.finding.medium{border-left-color:var(--medium)}
.finding.low{border-left-color:var(--low)}.finding.info{border-left-color:var(--info)}
.finding:target,.process:target{outline:2px solid var(--accent)}
.process p a,.finding h3 a{text-decoration:none}
.finding h3{margin:0}.finding .desc{margin:.15rem 0}
.evidence{display:flex;flex-wrap:wrap;gap:.1rem 1.4rem;margin:.2rem 0 0;font-size:.9em}
.evidence div{display:flex;gap:.45rem;min-width:0}
.evidence dt{color:var(--muted)}.evidence dd{margin:0;overflow-wrap:anywhere}
.tree td.name,.tree td.time{white-space:nowrap}.tree td{font-size:.92em}
.flag{font-size:.78em;border:1px solid var(--line);border-radius:4px;padding:0 .3rem;margin-left:.3rem}
.flag.hidden{border-color:var(--high);color:var(--high)}
.process{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;margin:1rem 0}
.mapbox{overflow-x:auto;margin:.4rem 0}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85em;margin:.3rem 0}
.legend span::before{content:"";display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em;border-radius:2px;background:var(--sw)}
.legend .reserved::before{opacity:.35;outline:1px dashed var(--fg)}
.legend .priv::before{height:.35em;vertical-align:.1em;background:var(--fg)}
svg.memmap{display:block;font:11px system-ui,sans-serif}svg.memmap.fit{width:100%;height:auto;max-width:1500px}
.tables{display:flex;flex-wrap:wrap;gap:0 1.5rem;align-items:flex-start}.tables table{width:auto}
svg .region{stroke:var(--card);stroke-width:.5}
svg .region.reserved{fill-opacity:.35;stroke:var(--fg);stroke-dasharray:2 2;stroke-opacity:.6}
svg .region.flagged{stroke:var(--high);stroke-width:2}
svg .region:hover{fill-opacity:.75}
svg .priv{fill:var(--fg);fill-opacity:.55}
svg .gap,svg .leader{stroke:var(--muted);stroke-width:1;fill:none}
svg .leader{stroke-opacity:.5}
svg .label{fill:var(--fg)}svg .axis{fill:var(--muted);font-family:ui-monospace,Consolas,"DejaVu Sans Mono",monospace;font-size:10px}
svg .empty{fill:var(--muted)}
svg .marker{stroke:var(--card);stroke-width:1}
.c-image{fill:var(--c-image);--sw:var(--c-image)}.c-mapped{fill:var(--c-mapped);--sw:var(--c-mapped)}
.c-share{fill:var(--c-share);--sw:var(--c-share)}.c-heap{fill:var(--c-heap);--sw:var(--c-heap)}
.c-managed{fill:var(--c-managed);--sw:var(--c-managed)}.c-stack{fill:var(--c-stack);--sw:var(--c-stack)}
.c-private{fill:var(--c-private);--sw:var(--c-private)}.c-unusable{fill:var(--c-unusable);--sw:var(--c-unusable)}
.c-other{fill:var(--c-other);--sw:var(--c-other)}
td .sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:var(--sw);margin-right:.4em;vertical-align:-.05em}
.yes{color:var(--fg)}.no{color:var(--high);font-weight:600}
.warn li{margin:.15rem 0}
footer{margin-top:2.5rem;color:var(--muted);font-size:.85em}
@media print{:root{color-scheme:light;--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--card:#fff;--accent:#000}
body{padding:0;font-size:10.5pt}.sev{color:#fff}.mapbox{overflow:visible}svg.memmap{max-width:100%;height:auto}
.process,.finding{break-inside:avoid}h2{break-after:avoid}a{text-decoration:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"#;
