"""Writes src/inspect/keras_objects.txt: the (module, name) pairs Keras itself writes into
configs for its own components, and nothing else (run by hand when Keras changes).

    python -m venv v && v/bin/pip install keras==3.15.1 jax==0.10.2 jaxlib==0.10.2 scipy==1.17.1 h5py==3.16.0
    KERAS_BACKEND=jax v/bin/python testdata/generate_keras_objects.py

A class is listed when it is a Keras component (layer, model, initializer, regularizer,
constraint, optimizer, learning-rate schedule, loss, metric, dtype policy, quantizer, seed
generator): its public export paths and its defining module. A function is listed when it is
exported from one of the modules Keras searches for built-in functions (activations, losses,
metrics, ...), under those paths, its defining module, and 'builtins' (how Keras writes a
built-in function's module). Utilities (keras.utils, keras.config, keras.saving, keras.ops,
...) are never listed: a config that names one is reported.

Every backend (issue 24): a model saved under another backend names that backend's own
subclasses (the torch backend's optimizers are
keras.src.backend.torch.optimizers.torch_adam.Adam, ...), and only one backend can be imported
at a time (torch and tensorflow are not installed here). So the modules under
keras/src/backend/<backend>/ of every backend in the installed Keras (tensorflow, jax, torch,
numpy, openvino) are read as source, never imported: each top-level class's bases are resolved
through the module's imports, to another class read the same way or to a Keras object
imported under the running backend, and the class is listed when a base chain reaches a
component base above (the same test as for the imported classes). The backend of the run is
read the same way, and the script checks that reading finds every backend class the import
found.
"""
import ast
import importlib
import inspect
import os
import sys

import keras
from keras.src import api_export
from keras.src.saving import serialization_lib

BASES = [
    keras.layers.Layer,
    keras.initializers.Initializer,
    keras.regularizers.Regularizer,
    keras.constraints.Constraint,
    keras.optimizers.Optimizer,
    keras.optimizers.schedules.LearningRateSchedule,
    keras.losses.Loss,
    keras.metrics.Metric,
    keras.dtype_policies.DTypePolicy,
    keras.quantizers.Quantizer,
    keras.random.SeedGenerator,
]
try:
    from keras.src.saving.keras_saveable import KerasSaveable

    BASES.append(KerasSaveable)
except ImportError:
    pass
BUILTIN = sorted(serialization_lib.BUILTIN_MODULES)
# Gadgets a config can name that Keras still resolves: never listed even if they subclass a base.
NEVER = {"Lambda", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}

rows = set()
for path, obj in api_export.REGISTERED_NAMES_TO_OBJS.items():
    module, _, name = path.rpartition(".")
    if inspect.isclass(obj):
        if obj.__name__ in NEVER or not any(issubclass(obj, b) for b in BASES):
            continue
        rows.add(("class", module, name))
        rows.add(("class", obj.__module__, obj.__name__))
    elif callable(obj):
        parts = module.split(".")
        if len(parts) < 2 or parts[0] != "keras" or parts[1] not in BUILTIN:
            continue
        rows.add(("function", module, name))
        rows.add(("function", "builtins", name))
        if getattr(obj, "__module__", None) and getattr(obj, "__name__", None):
            rows.add(("function", obj.__module__, obj.__name__))

# Components defined in keras.src but not exported (Functional, ...), under their own module.
for modname, mod in list(sys.modules.items()):
    if not modname.startswith("keras.src") or mod is None:
        continue
    for name, obj in list(vars(mod).items()):
        if (
            inspect.isclass(obj)
            and obj.__module__ == modname
            and obj.__name__ not in NEVER
            and any(issubclass(obj, b) for b in BASES)
        ):
            rows.add(("class", modname, name))

# Backend-specific components of every backend, read from source (see the docstring).
BACKEND_DIR = os.path.join(os.path.dirname(keras.__file__), "src", "backend")
BACKENDS = sorted(
    d for d in os.listdir(BACKEND_DIR)
    if os.path.isdir(os.path.join(BACKEND_DIR, d)) and d not in ("common", "tests", "__pycache__")
)
source_classes = {}  # "module.Class" -> [resolved base paths]
for backend in BACKENDS:
    for root, dirs, files in os.walk(os.path.join(BACKEND_DIR, backend)):
        dirs[:] = [d for d in dirs if d not in ("tests", "__pycache__")]
        for fname in files:
            if not fname.endswith(".py") or fname.endswith("_test.py"):
                continue
            rel = os.path.relpath(os.path.join(root, fname), os.path.dirname(os.path.dirname(keras.__file__)))
            modname = rel[: -len(".py")].replace(os.sep, ".")
            package = modname.rsplit(".", 1)[0]
            if modname.endswith(".__init__"):
                modname = package
            with open(os.path.join(root, fname)) as f:
                tree = ast.parse(f.read())
            names = {}
            for node in tree.body:
                if isinstance(node, ast.Import):
                    for a in node.names:
                        names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parts = (modname if fname == "__init__.py" else package).split(".")
                        parts = parts[: len(parts) - node.level + 1]
                        base = ".".join(parts + ([node.module] if node.module else []))
                    for a in node.names:
                        names[a.asname or a.name] = f"{base}.{a.name}"
                elif isinstance(node, ast.ClassDef):
                    names[node.name] = f"{modname}.{node.name}"

            def dotted(expr):
                if isinstance(expr, ast.Name):
                    return names.get(expr.id)
                if isinstance(expr, ast.Attribute):
                    head = dotted(expr.value)
                    return head and f"{head}.{expr.attr}"
                return None

            for node in tree.body:
                if isinstance(node, ast.ClassDef):
                    source_classes[f"{modname}.{node.name}"] = [dotted(b) for b in node.bases]


def resolve(path):
    """The object a dotted path names, importing the longest importable module prefix."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 (another backend's module, or not a module)
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def component(path, seen=()):
    if path is None or path in seen:
        return False
    if path in source_classes:
        return any(component(b, seen + (path,)) for b in source_classes[path])
    if any(path.startswith(f"keras.src.backend.{b}.") for b in BACKENDS):
        return False  # a backend's object that is no class of its source
    if not path.startswith("keras."):
        return False  # torch.nn.Module, tf.Module, ...: not Keras components
    obj = resolve(path)
    return inspect.isclass(obj) and any(issubclass(obj, b) for b in BASES)


from_source = set()
for path in source_classes:
    module, _, name = path.rpartition(".")
    if name not in NEVER and component(path):
        from_source.add(("class", module, name))
imported = {r for r in rows if r[1].startswith("keras.src.backend.") and r[1].split(".")[3] in BACKENDS}
missing = imported - from_source
assert not missing, f"the source reading misses classes the import found: {sorted(missing)}"
rows |= from_source
print(f"backends read from source: {', '.join(BACKENDS)}: {len(from_source)} classes", file=sys.stderr)

out = os.path.join(os.path.dirname(__file__), "..", "src", "inspect", "keras_objects.txt")
with open(out, "w") as f:
    f.write(f"# generated by testdata/generate_keras_objects.py from keras {keras.__version__} "
            f"(backend {keras.backend.backend()} imported; backends {', '.join(BACKENDS)} read from source)\n")
    f.write("# kind\tmodule\tname\n")
    for r in sorted(rows):
        f.write("\t".join(r) + "\n")
print(len(rows), "pairs", file=sys.stderr)
