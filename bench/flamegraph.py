#!/usr/bin/env python3
"""Flame graphs from Linux `perf script` output (stdlib only, Python 3.11+).

A small stand-in for Brendan Gregg's stackcollapse-perf.pl + flamegraph.pl.

Record (as root, or with kernel.perf_event_paranoid <= 1):

    DOTNET_PerfMapEnabled=1 dotnet prox.dll ...      # writes /tmp/perf-PID.map
    perf record -F 999 -g -p PID -- sleep 10         # add `-e cpu-clock` if needed
    perf script -F +pid > out.txt                    # plain `perf script` works too

On VMs without hardware PMU counters (like the bench box) the default `cycles`
event is unavailable; perf then falls back to the `cpu-clock` software event by
itself (shown as `cpu-clock:ppp`).  If it does not, pass `-e cpu-clock`.
`-F +pid` makes headers read `comm pid/tid ...`; plain `perf script` prints only
the thread id, so `--pid` then matches a *thread* id (a warning is printed).
.NET threads have their own names (".NET TP Worker", ...), so filter by --pid
rather than --comm.  If managed frames stay `[unknown]` on .NET 10, see
dotnet/runtime#120419 (DOTNET_PerfMapStubGranularity).

Then:

    python3 bench/flamegraph.py collapse out.txt [--pid PID] [--comm NAME]
            [--drop-kernel] [--no-comm] [--period] > folded.txt
    python3 bench/flamegraph.py svg folded.txt --title "prox, 10 s" > out.svg
    python3 bench/flamegraph.py top folded.txt [--n 30]     # markdown tables

Folded format: one line per distinct stack, "root;...;leaf count".  The root
frame is the thread/process name (comm) unless --no-comm.  Counts are samples
(or the summed event period with --period).  .NET perf-map symbols such as
`instance void [System.Private.CoreLib] System.Threading.Tasks.Task::Execute()
[OptimizedTier1]` are shortened to `System.Threading.Tasks.Task::Execute`;
frames without a symbol become `[unknown]` or `[dso-basename]`.  The SVG is
static (1200 px wide, 16 px frames, frames < 0.1% of total omitted) with a tiny
optional script: click a frame to zoom, click the background to reset.
"""
import argparse
import hashlib
import os
import re
import sys
from collections import Counter
from html import escape

HEADER_RE = re.compile(r'^(?P<comm>.+?)\s+(?P<pid>\d+)(?:/(?P<tid>\d+))?\s+(?:\[\d+\]\s+)?'
                       r'\d+\.\d+:\s+(?:(?P<period>\d+)\s+)?\S+:')
OFFSET_RE = re.compile(r'\+0x[0-9a-fA-F]+$')
TIER_RE = re.compile(r'\[[A-Za-z0-9-]+\]$')           # [OptimizedTier1], [Tier0], [PreJIT] ...
PERFMAP_RE = re.compile(r'perf-\d+\.map$|doublemapper')


def split_frame(line):
    """'  addr sym+0x1f (dso)' -> (addr, sym, dso); dso may itself contain parens."""
    addr, _, rest = line.strip().partition(' ')
    rest, dso = rest.strip(), ''
    if rest.endswith(')'):
        depth = 0
        for i in range(len(rest) - 1, -1, -1):
            depth += {')': 1, '(': -1}.get(rest[i], 0)
            if depth == 0:
                dso, rest = rest[i + 1:-1], rest[:i].rstrip()
                break
    return addr, OFFSET_RE.sub('', rest), dso


def dotnet_name(sym):
    """'instance bool [Asm] Ns.Type`1[T]::M(args)[Tier1]' -> 'Ns.Type`1::M'."""
    sym = TIER_RE.sub('', sym.strip())
    i = sym.find('::')
    if i < 0:
        return sym
    j, depth = i + 2, 0                                 # method name: up to '(' at depth 0
    while j < len(sym) and not (sym[j] == '(' and depth == 0):
        depth += {'<': 1, '[': 1, '>': -1, ']': -1}.get(sym[j], 0)
        j += 1
    k, depth = i - 1, 0                                 # type name: back to ' ' at depth 0
    while k >= 0 and not (sym[k] == ' ' and depth == 0):
        depth += {'>': 1, ']': 1, '<': -1, '[': -1}.get(sym[k], 0)
        k -= 1
    name = re.sub(r'^\[[^\]]*\]', '', sym[k + 1:i]) + '::' + sym[i + 2:j]
    while True:                                         # drop generic instantiations [..]
        shorter = re.sub(r'\[[^\[\]]*\]', '', name)
        if shorter == name:
            return name
        name = shorter


def frame_name(sym, dso):
    if not sym or sym == '[unknown]':
        if dso and dso != '[unknown]' and not PERFMAP_RE.search(dso):
            return '[%s]' % os.path.basename(dso.split(' ')[0])
        return '[unknown]'
    if PERFMAP_RE.search(dso) or TIER_RE.search(sym):
        name = dotnet_name(sym)
    else:                                               # C/C++: drop the argument list
        name = re.sub(r'\((?!anonymous namespace\)).*$', '', sym) or sym
    return name.replace(';', ':')


def is_kernel(addr, dso):
    return dso.startswith('[kernel') or (len(addr) == 16 and addr.lower().startswith('ffff'))


def parse_perf_script(lines):
    """Yield (comm, pid, tid, period, [(addr, sym, dso), ...] leaf first) per event."""
    head, frames = None, []
    for line in lines:
        line = line.rstrip('\n')
        if not line.strip():
            if head:
                yield (*head, frames)
            head, frames = None, []
        elif head is None:
            if line.startswith('#'):
                continue
            m = HEADER_RE.match(line.strip())
            if m:
                head = (m['comm'], m['pid'], m['tid'], int(m['period'] or 1))
            else:
                head = ('?', None, None, 1)
        else:
            frames.append(split_frame(line))
    if head:
        yield (*head, frames)


def collapse(args):
    counts, had_tid = Counter(), False
    with open_in(args.input) as f:
        for comm, pid, tid, period, frames in parse_perf_script(f):
            had_tid |= tid is not None
            if args.pid is not None and pid != str(args.pid):
                continue
            if args.comm is not None and comm != args.comm:
                continue
            stack = []                                  # leaf first
            for addr, sym, dso in frames:
                kernel = is_kernel(addr, dso)
                if args.drop_kernel and kernel:
                    if not stack:                       # only the leaf-most kernel run
                        stack.append('[kernel]')
                    continue
                name = frame_name(sym, dso)
                if stack and name == stack[-1] and name.startswith('['):
                    continue                            # squash [unknown];[unknown];...
                stack.append(name)
            if not args.no_comm:
                stack.append(comm.replace(';', ':'))
            if stack:
                counts[';'.join(reversed(stack))] += period if args.period else 1
    if args.pid is not None and not had_tid:
        print('warning: headers carry no pid/tid (use `perf script -F +pid`); '
              '--pid matched thread ids', file=sys.stderr)
    for stack in sorted(counts):
        print(stack, counts[stack])


def open_in(path):
    return sys.stdin if path == '-' else open(path, encoding='utf-8', errors='replace')


def read_folded(path):
    stacks = []
    with open_in(path) as f:
        for line in f:
            stack, _, n = line.rstrip('\n').rpartition(' ')
            if stack and n.isdigit() and int(n) > 0:
                stacks.append((stack.split(';'), int(n)))
    return stacks


# ----------------------------------------------------------------------------- svg
WIDTH, FRAME_H, FONT, XPAD, MIN_FRAC = 1200, 16, 12, 10, 0.001
CHAR_W = FONT * 0.59
SCRIPT = """<script><![CDATA[
var W=%d-2*%d,CW=%s;
function fit(n,w){var c=Math.floor((w-3)/CW);return c<3?'':(n.length<=c?n:n.slice(0,c-2)+'..');}
function put(g,x,w){var r=g.querySelector('rect'),t=g.querySelector('text');g.style.display='';
 r.setAttribute('x',%d+x*W);r.setAttribute('width',Math.max(w*W-0.5,0.1));
 t.setAttribute('x',%d+x*W+3);t.textContent=fit(g.getAttribute('data-n'),w*W);}
function zoom(e){var g=e.target.closest?e.target.closest('g.f'):null,fs=document.querySelectorAll('g.f');
 var x0=g?+g.getAttribute('data-x'):0,w0=g?+g.getAttribute('data-w'):1,d0=g?+g.getAttribute('data-d'):0,E=1e-7;
 fs.forEach(function(f){var x=+f.getAttribute('data-x'),w=+f.getAttribute('data-w'),d=+f.getAttribute('data-d');
  if(d<d0&&x<=x0+E&&x+w>=x0+w0-E)put(f,0,1);else if(d>=d0&&x>=x0-E&&x+w<=x0+w0+E)put(f,(x-x0)/w0,w/w0);
  else f.style.display='none';});}
document.documentElement.addEventListener('click',zoom);
]]></script>""" % (WIDTH, XPAD, CHAR_W, XPAD, XPAD)


def colour(name):
    h = hashlib.md5(name.encode()).digest()            # deterministic, unlike hash()
    return 'rgb(%d,%d,%d)' % (205 + h[0] * 50 // 255, h[1] * 230 // 255, h[2] * 55 // 255)


def fit(name, px):
    chars = int((px - 3) / CHAR_W)
    return '' if chars < 3 else name if len(name) <= chars else name[:chars - 2] + '..'


def svg(args):
    root = ['all', 0, {}]                               # [name, value, children]
    for frames, n in read_folded(args.input):
        node = root
        node[1] += n
        for name in frames:
            node = node[2].setdefault(name, [name, 0, {}])
            node[1] += n
    total = root[1] or 1
    boxes, todo = [], [(root, 0, 0)]                    # (node, x in samples, depth)
    while todo:
        node, x, depth = todo.pop()
        if node[1] / total < MIN_FRAC:
            continue
        boxes.append((node[0], node[1], x, depth))
        for child in sorted(node[2].values(), key=lambda c: c[0]):
            todo.append((child, x, depth + 1))
            x += child[1]
    top, bottom = FONT * 3, FONT * 2 + 10
    height = top + (max(b[3] for b in boxes) + 1) * FRAME_H + bottom
    scale = (WIDTH - 2 * XPAD) / total
    out = ['<?xml version="1.0" standalone="no"?>',
           f'<svg version="1.1" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
           'xmlns="http://www.w3.org/2000/svg">',
           '<defs><linearGradient id="bg" y1="0" y2="1" x1="0" x2="0"><stop stop-color="#eeeeee" '
           'offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/></linearGradient></defs>',
           f'<style>text{{font-family:Verdana,sans-serif;font-size:{FONT}px;fill:#000}}'
           'g.f:hover rect{stroke:#000;stroke-width:0.5}g.f{cursor:pointer}</style>',
           f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="url(#bg)"/>',
           f'<text x="{WIDTH // 2}" y="{FONT * 2}" text-anchor="middle" style="font-size:17px">'
           f'{escape(args.title)}</text>',
           f'<text x="{XPAD}" y="{height - 10}">{total} samples; click a frame to zoom, '
           'the background to reset; hover for details</text>']
    if not args.no_script:
        out.append(SCRIPT)
    for name, n, x, depth in sorted(boxes, key=lambda b: (b[3], b[2])):
        px, w = XPAD + x * scale, n * scale
        y = height - bottom - (depth + 1) * FRAME_H
        label = f'{name} ({n} samples, {100 * n / total:.2f}%)'
        out.append(f'<g class="f" data-n="{escape(name)}" data-x="{x / total:.10g}" '
                   f'data-w="{n / total:.10g}" data-d="{depth}"><title>{escape(label)}</title>'
                   f'<rect x="{px:.1f}" y="{y}" width="{max(w - 0.5, 0.1):.1f}" '
                   f'height="{FRAME_H - 1}" fill="{colour(name)}" rx="2" ry="2"/>'
                   f'<text x="{px + 3:.1f}" y="{y + FRAME_H - 4}">{escape(fit(name, w))}</text></g>')
    out.append('</svg>')
    print('\n'.join(out))


# ----------------------------------------------------------------------------- top
def md_name(name):
    name = name.replace('|', '\\|')
    return f'`` {name} ``' if '`' in name else f'`{name}`'


def top(args):
    stacks = read_folded(args.input)
    total = sum(n for _, n in stacks) or 1
    incl, excl = Counter(), Counter()
    for frames, n in stacks:
        for name in set(frames):                        # recursion counted once
            incl[name] += n
        excl[frames[-1]] += n
    print(f'Total samples: {total}\n')
    for title, counter, other, other_hdr in (('inclusive', incl, excl, 'Self %'),
                                             ('exclusive (self)', excl, incl, 'Incl. %')):
        print(f'### Top {args.n} functions by {title} samples\n')
        print(f'| # | Function | Samples | % | {other_hdr} |\n|--:|---|--:|--:|--:|')
        for i, (name, n) in enumerate(counter.most_common(args.n), 1):
            print(f'| {i} | {md_name(name)} | {n} | {100 * n / total:.1f} '
                  f'| {100 * other[name] / total:.1f} |')
        print()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('collapse', help='perf script text -> folded stacks')
    c.add_argument('input', help="perf script output ('-' = stdin)")
    c.add_argument('--pid', type=int, help='keep only this process id')
    c.add_argument('--comm', help='keep only events whose comm (thread name) equals this')
    c.add_argument('--drop-kernel', action='store_true',
                   help='drop [kernel.kallsyms] frames, keeping one [kernel] leaf')
    c.add_argument('--no-comm', action='store_true', help='do not add comm as the root frame')
    c.add_argument('--period', action='store_true', help='weight by event period, not samples')
    s = sub.add_parser('svg', help='folded stacks -> flame graph SVG')
    s.add_argument('input')
    s.add_argument('--title', default='Flame Graph')
    s.add_argument('--no-script', action='store_true', help='omit the click-to-zoom script')
    t = sub.add_parser('top', help='folded stacks -> markdown tables of top functions')
    t.add_argument('input')
    t.add_argument('--n', type=int, default=30)
    args = p.parse_args(argv)
    {'collapse': collapse, 'svg': svg, 'top': top}[args.cmd](args)


if __name__ == '__main__':
    try:
        main()
    except BrokenPipeError:
        sys.stderr.close()
