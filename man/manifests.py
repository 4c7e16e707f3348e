#!/usr/bin/env python3
"""berth-manifests(5) from the JSON Schemas, which are its only source.

usage: manifests.py man VERSION SCHEMA_DIR > berth-manifests.5
       manifests.py fields SCHEMA_DIR          # KIND PATH, one field a line
       manifests.py check SCHEMA_DIR DOCS.jsonl  # documents from `berth render`

`man` writes the page: the envelope, then every field of every kind, in
the schemas' order, with its type, whether it is required, its default
and its description; then the value types the fields refer to.

`fields` prints every field as KIND PATH, PATH like spec.storage_pools[].name,
with * for a key of a mapping (spec.config.*).

`check` reads the documents that `berth render` prints (one JSON object a
line, the document under "document") and fails naming every field a
document has that its kind's schema has not, every kind no document
shows, and every field directly under spec that no document of its kind
shows: examples elsewhere (README) are checked against the schemas this
way.
"""
import json
import os
import sys


class Schemas:
    def __init__(self, d):
        self.docs = {}
        for name in sorted(os.listdir(d)):
            if name.endswith('.json'):
                with open(os.path.join(d, name)) as f:
                    self.docs[name] = json.load(f)

    def kinds(self):
        """(kind, schema file) in the order of manifest.json."""
        out = []
        for part in self.docs['manifest.json']['allOf']:
            if 'if' in part:
                out.append((part['if']['properties']['kind']['const'],
                            part['then']['$ref']))
        return out

    def resolve(self, node, base):
        """The node with its $ref followed: (merged node, file, def name).
        The node's own title, description and default win over the
        target's."""
        if '$ref' not in node:
            return node, base, None
        ref = node['$ref']
        f, _, frag = ref.partition('#')
        f = f or base
        target = self.docs[f]
        name = None
        if frag:
            name = frag.split('/')[-1]
            for part in frag.strip('/').split('/'):
                target = target[part]
        target, f2, _ = self.resolve(target, f)
        merged = dict(target)
        merged['_type_title'] = target.get('title')
        for k, v in node.items():
            if k != '$ref':
                merged[k] = v
        return merged, f2, name


def type_of(s, raw_title):
    """A phrase for the type of a resolved node."""
    if raw_title and raw_title[0].islower():
        if 'enum' in s:
            return '%s: %s' % (raw_title, ', '.join(str(v) for v in s['enum']))
        return raw_title
    if 'enum' in s:
        return 'one of ' + ', '.join(str(v) for v in s['enum'])
    if 'const' in s:
        return 'the constant %s' % s['const']
    t = s.get('type')
    if t == 'integer':
        lo, hi = s.get('minimum'), s.get('maximum')
        if lo is not None and hi is not None:
            return 'an integer from %d to %d' % (lo, hi)
        if lo is not None:
            return 'an integer of at least %d' % lo
        return 'an integer'
    if t == 'boolean':
        return 'true or false'
    if t == 'string':
        return 'a string'
    if t == 'array':
        return 'a list'
    if t == 'object':
        return 'a mapping'
    return 'a value'


def fields(sc, node, base, path):
    """Every field under node (its $ref followed) as dicts, depth first:
    path, type, required, default, description, and map when its keys are
    free (config, labels)."""
    out = []
    s, f, _ = sc.resolve(node, base)
    req = set(s.get('required', []))
    for name, child in s.get('properties', {}).items():
        c, cf, _ = sc.resolve(child, f)
        p = path + name
        entry = {'path': p, 'type': type_of(c, c.get('_type_title')),
                 'required': name in req, 'default': c.get('default'),
                 'description': c.get('description', '')}
        sub = []
        if c.get('type') == 'array' and 'items' in c:
            it, itf, _ = sc.resolve(c['items'], cf)
            entry['type'] = 'a list, each ' + type_of(it, it.get('_type_title'))
            if it.get('properties'):
                sub = fields(sc, c['items'], cf, p + '[].')
        elif c.get('properties'):
            sub = fields(sc, child, f, p + '.')
        elif isinstance(c.get('additionalProperties'), dict):
            ap, apf, _ = sc.resolve(c['additionalProperties'], cf)
            if ap.get('properties'):
                # a mapping of objects by name: members, devices
                entry['type'] = 'a mapping by name, each ' + type_of(ap, ap.get('_type_title'))
                sub = fields(sc, c['additionalProperties'], cf, p + '.*.')
                if isinstance(ap.get('additionalProperties'), dict):
                    v, _, _ = sc.resolve(ap['additionalProperties'], apf)
                    sub.append({'path': p + '.*.*', 'type': type_of(v, v.get('_type_title')),
                                'required': False, 'default': None,
                                'description': 'Its other keys.', 'map': True})
            else:
                entry['map'] = True
        out.append(entry)
        out.extend(sub)
    return out


def kind_fields(sc, file):
    return fields(sc, {'$ref': file + '#/properties/spec'}, file, 'spec.')


def envelope_fields(sc):
    out = []
    for e in fields(sc, sc.docs['envelope.json'], 'envelope.json', ''):
        if e['path'] != 'spec':
            out.append(e)
    return out


# ---- roff -------------------------------------------------------------

def esc(s):
    s = s.replace('\\', '\\e').replace('-', '\\-')
    if s[:1] in ('.', "'"):
        s = '\\&' + s
    return s


def entry_roff(e):
    bits = [e['type']]
    if e['required']:
        bits.append('required')
    if e['default'] is not None:
        d = e['default']
        bits.append('default %s' % (json.dumps(d) if not isinstance(d, str) else d))
    return ['.TP', '.B %s' % esc(e['path']),
            '\\fI%s\\fR.' % esc('; '.join(bits)),
            esc(e['description'])]


def man(version, sc):
    kinds = sc.kinds()
    env = sc.docs['envelope.json']
    out = ['.\\" generated from the JSON Schemas by man/manifests.py; do not edit',
           '.TH BERTH\\-MANIFESTS 5 "" "berth %s" "File Formats"' % esc(version),
           '.SH NAME',
           'berth\\-manifests \\- the YAML documents that describe a berth fleet',
           '.SH DESCRIPTION',
           esc('berth reads every *.yaml and *.yml file under --path in the tree of '
               '--ref of the repository --repo, from git objects (see berth(1)). '
               'A file may hold several documents separated by ---.'),
           '.PP',
           esc(sc.docs['manifest.json']['description']),
           '.PP',
           esc(env['description']),
           '.PP',
           esc('This page is generated from the JSON Schemas berth validates every '
               'document against. A path like spec.storage_pools[].name is the field '
               'name of every element of the list spec.storage_pools; '
               'spec.config.* is any key of the mapping spec.config.'),
           '.SH ENVELOPE']
    for e in envelope_fields(sc):
        out += entry_roff(e)
    out.append('.SH KINDS')
    for kind, file in kinds:
        doc = sc.docs[file]
        out += ['.SS %s' % esc(kind), esc(doc['description']), '.PP',
                '.B kind: %s' % esc(kind)]
        spec = doc['properties']['spec']
        out += ['.PP', esc(spec.get('description', ''))]
        for e in kind_fields(sc, file):
            out += entry_roff(e)
    out += ['.SH VALUE TYPES', esc('The types the fields above refer to.')]
    for name, d in env['$defs'].items():
        out += ['.TP', '.B %s' % esc(name), '%s.' % esc(d.get('title', '')),
                esc(d.get('description', ''))]
    out += ['.SH SEE ALSO', '.BR berth (1)']
    return '\n'.join(out) + '\n'


# ---- fields and the check --------------------------------------------

def all_fields(sc):
    out = []
    for e in envelope_fields(sc):
        for kind, _ in sc.kinds():
            out.append((kind, e['path'], e.get('map', False)))
    for kind, file in sc.kinds():
        for e in kind_fields(sc, file):
            out.append((kind, e['path'], e.get('map', False)))
    return out


def doc_paths(v, path=()):
    """Every key path of a document, a tuple of keys; a list's items are
    under its key with [] appended (spec.storage_pools[].name)."""
    if isinstance(v, dict):
        for k, c in v.items():
            p = path + (k,)
            yield p
            yield from doc_paths(c, p)
    elif isinstance(v, list):
        for c in v:
            yield from doc_paths(c, path[:-1] + (path[-1] + '[]',))


def matches(pattern, path):
    """pattern: a field path of the schemas, * for any one key."""
    pp = pattern.split('.')
    return len(pp) == len(path) and all(a == '*' or a == b for a, b in zip(pp, path))


def check(sc, docs_file):
    known = {}
    for kind, path, is_map in all_fields(sc):
        k = known.setdefault(kind, set(['spec']))
        parts = path.split('.')
        for i in range(1, len(parts) + 1):
            k.add('.'.join(parts[:i]))
        if is_map:
            k.add(path + '.*')
    shown = {}
    problems = []
    with open(docs_file) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            doc = r['document']
            kind = doc.get('kind') if isinstance(doc, dict) else None
            where = '%s:%s' % (r.get('file'), r.get('line'))
            if kind not in known:
                problems.append('%s: want a kind of the schemas, have %s' % (where, json.dumps(kind)))
                continue
            for path in doc_paths(doc):
                if path[-1] == '...':
                    continue  # an elision: spec: {...}
                shown.setdefault(kind, set()).add('.'.join(path))
                if not any(matches(k, path) for k in known[kind]):
                    problems.append('%s: %s has no field %s' % (where, kind, '.'.join(path)))
    for kind, file in sc.kinds():
        if kind not in shown:
            problems.append('no example of kind %s' % kind)
            continue
        for e in kind_fields(sc, file):
            p = e['path']
            if p.count('.') == 1 and p not in shown[kind]:
                problems.append('%s: %s is in the schema but in no example' % (kind, p))
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == 'man':
        sys.stdout.write(man(a[1], Schemas(a[2])))
        return 0
    if len(a) == 2 and a[0] == 'fields':
        for kind, path, _ in all_fields(Schemas(a[1])):
            print(kind, path)
        return 0
    if len(a) == 3 and a[0] == 'check':
        return check(Schemas(a[1]), a[2])
    print(__doc__.strip().split('\n\n')[1], file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
