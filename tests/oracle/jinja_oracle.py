"""The chat-template oracle: each input line is the path of a template; jinja2 parses it as
transformers does (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols and a
`generation` block tag like transformers' AssistantTracker; line statements off) and the parsed
AST (`env.parse`) is walked, never rendered, for what would reach an unsafe attribute at render
time:
  - `x.name` (Getattr) whose name starts with `_` or is a frame/function internal;
  - `x[key]` (Getitem) whose key is a constant string naming one, or a string computed at render
    time (concatenation `~`, `+`/`%`/`*` with a string, a filter, a call, a conditional), directly
    or through a variable (set, block set, for, with, macro defaults, keyword arguments,
    namespace attributes) holding one;
  - the `attr` filter with such an argument, or any non-constant one;
  - attribute-path arguments of filters that look attributes up at render time (map's
    `attribute=`, selectattr/rejectattr, sort, groupby, unique, min, max, sum): a constant path
    with a component naming an internal (`'x.__class__'`), or a computed one;
  - `'{0.__class__}'.format(x)`: a constant format string whose fields name an internal.

Prints one JSON line per input: {"parsed": bool, "flagged": [reasons], "error": str|null}.

Under MODELGATE_ORACLE_COVERAGE the branches of jinja2's lexer (Lexer.tokeniter, tokenize,
wrap, compile_rules) and parser (Parser.parse_*) are measured. A few inputs are also parsed by an
environment with line statements and comments on (not transformers' setting, never judged), so
that the lexer's rules for them are compiled and taken.
"""
import json
import string
import sys

import jinja2
import jinja2.lexer
import jinja2.parser
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loader_coverage import measured

JUDGED = {
    jinja2.lexer: ["Lexer.tokeniter", "Lexer.tokenize", "Lexer.wrap", "compile_rules"],
    jinja2.parser: ["Parser.parse*"],
}

INTERNAL = {
    "mro", "func_globals", "func_code", "gi_frame", "gi_code", "cr_frame", "ag_frame",
    "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "tb_next",
}
# Filters whose attribute argument (keyword `attribute`, or the positional at this index) is an
# attribute path looked up at render time (environment.getitem / getattr per dotted part).
ATTRIBUTE_FILTERS = {
    "map": None, "selectattr": 0, "rejectattr": 0, "sort": 2, "groupby": 0, "unique": 1,
    "min": 1, "max": 1, "sum": 0,
}


def internal(name):
    return isinstance(name, str) and (name.startswith("_") or name in INTERNAL)


def internal_path(path):
    return isinstance(path, str) and any(internal(p) for p in path.split("."))


class Generation(Extension):
    """transformers' AssistantTracker: `{% generation %}...{% endgeneration %}`."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment(**kw):
    return ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols], **kw
    )


ENV = environment()


def walk(n):
    """Every node under `n`, `n` included."""
    stack = [n]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(x.iter_child_nodes())


def assigned_names(target):
    out = []
    for t in walk(target):
        if isinstance(t, nodes.Name):
            out.append(t.name)
        elif isinstance(t, nodes.NSRef):
            out.append(t.attr)
    return out


def judge(ast):
    # Assignments: (names, value node or None for rendered text).
    assigns = []
    for n in walk(ast):
        if isinstance(n, nodes.Assign):
            assigns.append((assigned_names(n.target), n.node))
        elif isinstance(n, nodes.AssignBlock):
            assigns.append((assigned_names(n.target), None))
        elif isinstance(n, nodes.For):
            assigns.append((assigned_names(n.target), n.iter))
        elif isinstance(n, nodes.With):
            for t, v in zip(n.targets, n.values):
                assigns.append((assigned_names(t), v))
        elif isinstance(n, (nodes.Macro, nodes.CallBlock)):
            for a, d in zip(n.args[len(n.args) - len(n.defaults):], n.defaults):
                assigns.append((assigned_names(a), d))
        elif isinstance(n, nodes.Keyword):
            assigns.append(([n.key], n.value))
    tainted = set()

    def computed(e):
        """Whether `e` may be a string made at render time (or names an internal)."""
        if isinstance(e, nodes.Call) and isinstance(e.node, nodes.Name) and e.node.name == "namespace":
            return False  # a namespace is no string; its keyword arguments are assignments
        if isinstance(e, (nodes.Concat, nodes.Filter, nodes.Call, nodes.CondExpr)):
            return True
        if isinstance(e, (nodes.Add, nodes.Mod, nodes.Mul)) and any(
            isinstance(y, nodes.Const) and isinstance(y.value, str) for y in walk(e)
        ):
            return True
        if isinstance(e, nodes.Const) and internal(e.value):
            return True
        if isinstance(e, nodes.Name) and e.name in tainted:
            return True
        if isinstance(e, (nodes.NSRef, nodes.Getattr)) and e.attr in tainted:
            return True  # ns.v, a namespace attribute
        return any(computed(c) for c in e.iter_child_nodes())

    grew = True
    while grew:
        grew = False
        for names, value in assigns:
            if value is None or computed(value):
                for name in names:
                    if name not in tainted:
                        tainted.add(name)
                        grew = True
    flagged = []

    def flag(why):
        if why not in flagged:
            flagged.append(why)

    for n in walk(ast):
        if isinstance(n, nodes.Getattr) and internal(n.attr):
            flag(f"attribute .{n.attr}")
        elif isinstance(n, nodes.Getitem) and not isinstance(n.arg, nodes.Slice):
            if isinstance(n.arg, nodes.Const):
                if internal(n.arg.value):
                    flag(f"subscript [{n.arg.value!r}]")
            elif computed(n.arg):
                flag("subscript by a computed string")
        elif isinstance(n, nodes.Filter) and n.name == "attr":
            args = n.args + [k.value for k in n.kwargs]
            if n.dyn_args or n.dyn_kwargs or any(
                not isinstance(a, nodes.Const) or internal(a.value) for a in args
            ):
                flag("attr filter")
        elif isinstance(n, (nodes.Filter, nodes.Test)) and n.name in ATTRIBUTE_FILTERS:
            cands = [k.value for k in n.kwargs if k.key == "attribute"]
            at = ATTRIBUTE_FILTERS[n.name]
            if at is not None and len(n.args) > at:
                cands.append(n.args[at])
            for a in cands:
                if isinstance(a, nodes.Const):
                    if internal_path(a.value):
                        flag(f"{n.name} attribute path {a.value!r}")
                elif computed(a):
                    flag(f"{n.name} attribute computed")
        elif (
            isinstance(n, nodes.Call)
            and isinstance(n.node, nodes.Getattr)
            and n.node.attr in ("format", "format_map")
            and isinstance(n.node.node, nodes.Const)
            and isinstance(n.node.node.value, str)
        ):
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(n.node.node.value) if f]
            except ValueError:
                fields = []
            for f in fields:
                parts = f.replace("[", ".").replace("]", "").split(".")[1:]
                if any(internal(p) for p in parts):
                    flag(f"format field {f!r}")
    return flagged


def coverage_extras():
    """The lexer's and parser's other settings, parsed but never judged."""
    alt = environment(line_statement_prefix="#", line_comment_prefix="##",
                      keep_trailing_newline=True, newline_sequence="\r\n")
    plain = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.i18n", "jinja2.ext.debug"])
    for env, text in [
        (alt, "# for x in y\n  {{ x }} ## note\n# endfor\n## only a comment\n\ttext\n"),
        (alt, "# if a:\nb\n# endif\n#x\n"),
        (alt, "a\r\nb\r\n{{ 'x' }}\n"),
        (plain, "{% do x.append(1) %}{% trans %}hi {{ u }}{% endtrans %}{% debug %}"),
        (plain, "{% trans count=n %}one{% pluralize %}many{% endtrans %}"),
        (plain, "{%- raw -%} a {%- endraw -%}\n  {% if a %}x{% endif %}"),
        (plain, "{{ 1 }}\n"),
    ]:
        try:
            env.parse(text)
        except jinja2.TemplateSyntaxError:
            pass
    # Errors in the lexer's and parser's other paths.
    for text in ["{{ 1 +", "{% for %}", "{% endfor %}", "{{ 'a }}", "{{ x ] }}", "{% x %}", "{{ 1_ }}"]:
        try:
            ENV.parse(text)
        except jinja2.TemplateSyntaxError:
            pass


def answer():
    coverage_extras()
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            ast = ENV.parse(text)
        except Exception as e:  # TemplateSyntaxError, and what the lexer raises
            print(json.dumps({"parsed": False, "flagged": [], "error": f"{type(e).__name__}: {e}"[:200]}))
            continue
        print(json.dumps({"parsed": True, "flagged": judge(ast), "error": None}))
        sys.stdout.flush()


def main():
    with measured(JUDGED):
        answer()


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
