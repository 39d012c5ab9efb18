"""Oracle for tests/yaml_oracle.rs: PyYAML itself reads each file named on stdin, and one JSON line
per file answers what a loader of YAML configs would act on.

Views (each {"ok": bool, "error": message or null, "entries": [[key, value], ...], "tags": [...]}):
  "bytes": yaml.load(open(path, "rb"), Loader=...): PyYAML's own decoding (reader.py
           determine_encoding: a UTF-16 BOM selects UTF-16, else UTF-8), as `yaml.safe_load(f)` on
           a binary file;
  "text":  yaml.load(open(path, encoding="utf-8"), Loader=...): OmegaConf.load and Hydra (a text
           stream decoded as UTF-8, universal newlines).
Every document of the stream is read (yaml.load reads one and refuses a second: what precedes
the refusal is still recorded, a superset of what a loader acts on).

What is recorded, without constructing anything of the document's choosing:
  "tags":    every python tag (tag:yaml.org,2002:python/...) on a node the composer built, as
             yaml.unsafe_load / yaml.full_load would construct it (SafeLoader refuses it: the tag
             is what the composer saw);
  "entries": every mapping pair of the constructed data (merge keys `<<` flattened, as
             SafeConstructor does) whose key is one of KEYS and whose value is a string. The
             loader is SafeLoader (OmegaConf's loader is a subclass) with every tag it does not
             know constructed as plain data of the node's kind, so that a document is read past
             the tags it carries.

Under MODELGATE_ORACLE_COVERAGE the branches of PyYAML's parsing code are measured (reader,
scanner, parser, composer, and constructor.py's flatten_mapping/construct_mapping).
"""
import io
import json
import sys

import yaml
import yaml.composer
import yaml.constructor
import yaml.parser
import yaml.reader
import yaml.scanner
import yaml.nodes

from loader_coverage import measured

JUDGED = {
    yaml.reader: ["Reader"],
    yaml.scanner: ["Scanner"],
    yaml.parser: ["Parser"],
    yaml.composer: ["Composer"],
    yaml.constructor: [
        "BaseConstructor.construct_mapping",
        "SafeConstructor.flatten_mapping",
        "SafeConstructor.construct_mapping",
    ],
}

KEYS = {"_target_", "class_path", "target", "loader_module", "code", "model_code_path"}
PYTHON = "tag:yaml.org,2002:python/"


class Recording(yaml.SafeLoader):
    tags = None

    def construct_document(self, node):
        # The tags the composer saw, before flatten_mapping rewrites merge keys.
        seen = set()
        stack = [node]
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            if isinstance(n.tag, str) and n.tag.startswith(PYTHON) and n.tag not in self.tags:
                self.tags.append(n.tag)
            if isinstance(n, yaml.nodes.SequenceNode):
                stack.extend(n.value)
            elif isinstance(n, yaml.nodes.MappingNode):
                for k, v in n.value:
                    stack.append(k)
                    stack.append(v)
        return super().construct_document(node)


def construct_any(loader, suffix_or_node, node=None):
    node = suffix_or_node if node is None else node
    if isinstance(node, yaml.nodes.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.nodes.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


# Every tag SafeLoader does not know (python tags, local tags, %TAG handles) as plain data.
Recording.add_constructor(None, construct_any)
Recording.add_multi_constructor(PYTHON, construct_any)


def entries(data, out):
    seen = set()
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, (dict, list, tuple, set)):
            if id(v) in seen:
                continue
            seen.add(id(v))
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(k, str) and k in KEYS and isinstance(x, str) and [k, x] not in out:
                    out.append([k, x])
                stack.append(k)
                stack.append(x)
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)


def view(open_stream):
    out = {"ok": True, "error": None, "entries": [], "tags": [], "documents": 0}
    Recording.tags = out["tags"]
    try:
        with open_stream() as f:
            loader = Recording(f)
            try:
                while loader.check_data():
                    data = loader.get_data()
                    out["documents"] += 1
                    entries(data, out["entries"])
            finally:
                loader.dispose()
    except RecursionError:
        out.update(ok=False, error="recursion")
    except Exception as e:  # YAMLError, UnicodeDecodeError, and what a constructor raises
        out.update(ok=False, error=f"{type(e).__name__}: {e}"[:300])
    return out


def answer_one(path):
    return {
        "bytes": view(lambda: open(path, "rb")),
        "text": view(lambda: open(path, encoding="utf-8")),
    }


def answer():
    # The reader's other entry points, once: a str and a bytes object (not a stream).
    for doc in ("a: 1\n", b"a: 1\n", b"\xff\xfea\x00:\x00 \x001\x00", b"\xfe\xff\x00a\x00:", "\x01"):
        try:
            yaml.load(doc, Loader=Recording)
        except yaml.YAMLError:
            pass
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        out = answer_one(path)
        out["path"] = path
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


def main():
    with measured(JUDGED):
        answer()


if __name__ == "__main__":
    sys.setrecursionlimit(20000)
    main()
