"""Validate a JSON document against a JSON Schema (draft-07), with sibling schemas it
references by relative $ref resolved from the same folder. Exit 0 valid, 1 invalid."""
import json
import pathlib
import sys

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

schema_path, doc_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
schema = json.loads(schema_path.read_text())
resources = []
for p in schema_path.parent.glob("*.json"):
    s = json.loads(p.read_text())
    r = Resource.from_contents(s, default_specification=DRAFT7)
    resources.append((p.name, r))
    if "$id" in s:
        resources.append((s["$id"], r))
registry = Registry().with_resources(resources)
v = Draft7Validator(schema, registry=registry)
errors = sorted(v.iter_errors(json.loads(pathlib.Path(doc_path).read_text())), key=lambda e: list(e.path))
for e in errors[:20]:
    print(f"{list(e.absolute_path)}: {e.message}")
sys.exit(1 if errors else 0)
