#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""json_schema_check.py SCHEMA FILE TOOL:TYPE[,TOOL:TYPE...]: every line of FILE that starts with
'{' must be valid against SCHEMA (docs/json/mqcap.schema.json), no other line may look like JSON,
and each TOOL:TYPE named must appear at least once. Uses python3-jsonschema (scripts/deps)."""
import collections, json, sys

import jsonschema

schema_path, path, want = sys.argv[1], sys.argv[2], sys.argv[3]
schema = json.load(open(schema_path))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
seen = collections.Counter()
for n, line in enumerate(open(path), 1):
    line = line.strip()
    if not line:
        continue
    doc = json.loads(line)   # a line that is not JSON fails here, with its position
    errors = sorted(v.iter_errors(doc), key=lambda e: e.path)
    if errors:
        # oneOf hides the cause: validate against the branch the line claims to be
        for branch in schema["oneOf"]:
            p = branch["properties"]
            if p["tool"]["const"] == doc.get("tool") and p["type"]["const"] == doc.get("type"):
                sub = dict(branch, **{"$defs": schema["$defs"]})
                errors = list(jsonschema.Draft202012Validator(sub).iter_errors(doc)) or errors
        sys.exit("%s:%d: %s %s: %s" % (path, n, doc.get("tool"), doc.get("type"),
                                        "; ".join("%s at %s" % (e.message, "/".join(map(str, e.path)))
                                                  for e in errors[:3])))
    seen["%s:%s" % (doc["tool"], doc["type"])] += 1
missing = [w for w in want.split(",") if w and not seen[w]]
if missing:
    sys.exit("%s: no %s line (saw %s)" % (path, ", ".join(missing), dict(seen)))
print("# %s: %s valid against schema version %s" % (path.rsplit("/", 1)[-1], dict(seen),
                                                       schema["$defs"]["version"]["const"]))
