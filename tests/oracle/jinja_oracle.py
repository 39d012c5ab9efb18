"""The chat-template oracle: each input line is the path of a template; jinja2 parses it as
transformers does (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols) and
renders it with a chat, while the sandbox's getattr/getitem hooks record every attribute and key
name the template asks for at render time. The sandbox refuses the unsafe ones, so nothing
escapes; the record says what an unsandboxed renderer (llama-cpp-python before its fix, a
server's own Environment) would have reached.

Prints one JSON line per input: {"parsed": bool, "reached": [internal names asked for]}."""
import json
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment

INTERNAL = {
    "mro", "func_globals", "func_code", "gi_frame", "gi_code", "cr_frame", "ag_frame",
    "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next",
}


def internal(name):
    return isinstance(name, str) and (name.startswith("_") or name in INTERNAL)


class Recording(ImmutableSandboxedEnvironment):
    reached = []

    def getattr(self, obj, attribute):
        if internal(attribute):
            self.reached.append(attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        if internal(argument):
            self.reached.append(argument)
        return super().getitem(obj, argument)


def raise_exception(msg):
    raise ValueError(msg)


env = Recording(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.globals["raise_exception"] = raise_exception

for line in sys.stdin:
    path = line.rstrip("\n")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    Recording.reached = []
    try:
        t = env.from_string(text)
    except Exception:
        print(json.dumps({"parsed": False, "reached": []}))
        continue
    try:
        t.render(
            messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}],
            add_generation_prompt=True,
            bos_token="<s>",
            eos_token="</s>",
            tools=None,
        )
    except Exception:
        pass
    print(json.dumps({"parsed": True, "reached": sorted(set(Recording.reached))}))
