// Validates JSON Lines events against the ECS field definitions of the @elastic/ecs package.
// Usage: node validate.js PACKAGE_DIR ECS_VERSION FILE.jsonl
//
// Every event must: be one JSON object per line; carry ecs.version = ECS_VERSION; use only ECS
// fields (dotted names of EcsFlat) outside the custom `memtriage` namespace, with values of the
// field's type (keyword/text: string, long/integer: integer, date: RFC 3339 string, arrays only
// for fields whose definition normalizes to an array); use an allowed event.kind, allowed
// event.category values, and for every category only event.type values that ECS expects with
// it.
"use strict";
const fs = require("fs");
const path = require("path");

const [pkgDir, version, file] = process.argv.slice(2);
const { EcsFlat } = require(path.resolve(pkgDir, "build/commonjs/ecs_flat.js"));
const pkgVersion = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
if (pkgVersion !== version) {
  throw new Error(`@elastic/ecs is ${pkgVersion}, expected ${version}`);
}
const errors = [];
const fail = (line, msg) => errors.push(`${file}:${line}: ${msg}`);

const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function checkValue(line, name, def, value) {
  const isArray = Array.isArray(value);
  if (isArray && !(def.normalize || []).includes("array")) {
    fail(line, `${name} is an array but ECS does not define it as one`);
  }
  for (const v of isArray ? value : [value]) {
    switch (def.type) {
      case "keyword":
      case "constant_keyword":
      case "wildcard":
      case "match_only_text":
      case "text":
        if (typeof v !== "string") fail(line, `${name} must be a string (${def.type}), got ${JSON.stringify(v)}`);
        break;
      case "long":
      case "integer":
      case "short":
      case "byte":
      case "unsigned_long":
        if (!Number.isInteger(v)) fail(line, `${name} must be an integer (${def.type}), got ${JSON.stringify(v)}`);
        break;
      case "date":
        if (typeof v !== "string" || !RFC3339.test(v)) fail(line, `${name} must be an RFC 3339 date, got ${JSON.stringify(v)}`);
        break;
      case "boolean":
        if (typeof v !== "boolean") fail(line, `${name} must be a boolean`);
        break;
      default:
        fail(line, `${name} has ECS type ${def.type}, which this check does not know`);
    }
  }
}

function walk(line, prefix, obj, seen) {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (name === "memtriage" || name.startsWith("memtriage.")) continue; // custom namespace
    const def = EcsFlat[name];
    if (def) {
      seen.add(name);
      checkValue(line, name, def, v);
    } else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      walk(line, name, v, seen);
    } else {
      fail(line, `${name} is not an ECS ${version} field`);
    }
  }
}

function allowed(field) {
  return new Map((EcsFlat[field].allowed_values || []).map((a) => [a.name, a]));
}
const kinds = allowed("event.kind");
const categories = allowed("event.category");

const lines = fs.readFileSync(file, "utf8").split("\n");
if (lines.pop() !== "") fail(lines.length, "the last line does not end with a newline");
let events = 0;
lines.forEach((text, i) => {
  const line = i + 1;
  let ev;
  try {
    ev = JSON.parse(text);
  } catch (e) {
    return fail(line, `not one JSON object per line: ${e.message}`);
  }
  if (ev === null || typeof ev !== "object" || Array.isArray(ev)) return fail(line, "not a JSON object");
  events++;
  if (!ev.ecs || ev.ecs.version !== version) fail(line, `ecs.version is not ${version}`);
  walk(line, "", ev, new Set());
  const e = ev.event || {};
  if (!kinds.has(e.kind)) fail(line, `event.kind ${JSON.stringify(e.kind)} is not allowed`);
  for (const c of e.category || []) {
    const cat = categories.get(c);
    if (!cat) {
      fail(line, `event.category ${JSON.stringify(c)} is not allowed`);
      continue;
    }
    for (const t of e.type || []) {
      if (!(cat.expected_event_types || []).includes(t)) {
        fail(line, `event.type ${JSON.stringify(t)} is not expected with event.category ${c} (expected: ${cat.expected_event_types})`);
      }
    }
  }
});
if (events === 0) fail(0, "no events");
if (errors.length) {
  console.error(errors.slice(0, 20).join("\n"));
  process.exit(1);
}
console.log(`ecs check: ${events} events valid against ECS ${version} (${Object.keys(EcsFlat).length} field definitions)`);
