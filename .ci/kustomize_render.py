#!/usr/bin/env python3
"""Render a kustomization the way `kustomize build` does, for the features k8s/ uses only.

kustomize itself is not installable on CI's machine (no registry it can reach carries it), so
CI renders the overlays with this script and validates the output with kubernetes-validate.
Supported, and nothing else (anything else is an error, never silently ignored):

  * `resources:` files (one or more YAML documents) and directories holding a kustomization.yaml
    (rendered recursively, in order);
  * `patches:` entries with `path:` only (no `target:`), each a strategic-merge patch matched to a
    resource by apiVersion, kind and metadata.name:
      - `$patch: delete` at the top removes that resource;
      - maps merge key by key, a `null` value deletes the key;
      - lists of containers, initContainers, volumes, env, envFrom(none), imagePullSecrets merge
        by `name`, volumeMounts by `mountPath`, container ports by `containerPort`, Service
        ports by `port` (the patchMergeKeys of the Kubernetes API); other lists are replaced.

Usage: kustomize_render.py DIR [OUT]    (prints to stdout without OUT)
With a real kustomize, `kustomize build DIR` (or `kubectl kustomize DIR`) gives the same objects.
"""

import copy
import os
import sys

import yaml

ALLOWED_KEYS = {"apiVersion", "kind", "resources", "patches"}
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
}


class RenderError(Exception):
    pass


def merge_key(field, items):
    if field in MERGE_KEYS:
        return MERGE_KEYS[field]
    if field == "ports" and items and isinstance(items[0], dict):
        if "containerPort" in items[0]:
            return "containerPort"
        if "port" in items[0]:
            return "port"
    return None


def merge(base, patch, path="$"):
    """Strategic merge of `patch` into `base` (both plain YAML values); returns the result."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            raise RenderError(f"{path}: directive {key} is not supported by this renderer")
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            mk = merge_key(key, out[key] or value)
            if mk is None:
                out[key] = copy.deepcopy(value)
                continue
            merged = copy.deepcopy(out[key])
            for item in value:
                if not isinstance(item, dict) or mk not in item:
                    raise RenderError(f"{path}.{key}: item without merge key {mk}: {item!r}")
                for i, existing in enumerate(merged):
                    if existing.get(mk) == item[mk]:
                        merged[i] = merge(existing, item, f"{path}.{key}[{item[mk]}]")
                        break
                else:
                    merged.append(copy.deepcopy(item))
            out[key] = merged
        elif key in out:
            out[key] = merge(out[key], value, f"{path}.{key}")
        else:
            out[key] = copy.deepcopy(value)
    return out


def identity(obj):
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("name"))


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def render(directory):
    kfile = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(kfile):
        raise RenderError(f"{directory}: no kustomization.yaml")
    (k,) = load_docs(kfile)
    unknown = set(k) - ALLOWED_KEYS
    if unknown:
        raise RenderError(f"{kfile}: unsupported fields {sorted(unknown)}")
    if k.get("kind") != "Kustomization":
        raise RenderError(f"{kfile}: kind must be Kustomization")
    objects = []
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(directory, res))
        objects.extend(render(p) if os.path.isdir(p) else load_docs(p))
    seen = set()
    for obj in objects:
        ident = identity(obj)
        if ident in seen:
            raise RenderError(f"{directory}: duplicate resource {ident}")
        seen.add(ident)
    for entry in k.get("patches") or []:
        if set(entry) != {"path"}:
            raise RenderError(f"{kfile}: only `patches: - path: …` is supported, got {entry!r}")
        for patch in load_docs(os.path.join(directory, entry["path"])):
            patch = dict(patch)
            delete = patch.pop("$patch", None)
            if delete not in (None, "delete"):
                raise RenderError(f"{entry['path']}: $patch: {delete} is not supported")
            ident = identity(patch)
            matches = [i for i, o in enumerate(objects) if identity(o) == ident]
            if len(matches) != 1:
                raise RenderError(f"{entry['path']}: patch target {ident} not found")
            if delete:
                del objects[matches[0]]
            else:
                objects[matches[0]] = merge(objects[matches[0]], patch)
    return objects


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        objects = render(argv[1])
    except (RenderError, OSError, yaml.YAMLError, ValueError) as e:
        print(f"kustomize_render: {e}", file=sys.stderr)
        return 1
    text = yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
