#!/usr/bin/env python3
# Rasterise web/public/favicon.svg (rounded square, three rounded strokes) into a PNG-in-ICO
# (16, 32, 48 px) for browsers and pages that ask for /favicon.ico. No dependencies.
# Usage: scripts/favicon-ico.py web/public/favicon.ico
import struct, zlib, sys

def inside_rrect(x, y, w=32, r=6):
    cx = min(max(x, r), w - r); cy = min(max(y, r), w - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and 0 <= x <= w and 0 <= y <= w

def on_stroke(x, y):
    for (x1, yy, x2) in [(8, 10, 24), (8, 16, 19), (8, 22, 15)]:
        px = min(max(x, x1), x2)
        if (x - px) ** 2 + (y - yy) ** 2 <= 1.5 ** 2:
            return True
    return False

def render(size, ss=8):
    scale = 32 / size
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            a = w = 0
            for sj in range(ss):
                for si in range(ss):
                    x = (i + (si + 0.5) / ss) * scale; y = (j + (sj + 0.5) / ss) * scale
                    if inside_rrect(x, y):
                        a += 1
                        if on_stroke(x, y): w += 1
            n = ss * ss
            if a == 0:
                row += bytes([0, 0, 0, 0]); continue
            t = w / a  # white share of the covered samples
            rgb = [round(c * (1 - t) + 255 * t) for c in (0x1f, 0x6f, 0xeb)]
            row += bytes(rgb + [round(255 * a / n)])
        rows.append(bytes(row))
    raw = b''.join(rows)
    def chunk(tag, data):
        return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', size, size, 8, 6, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')

pngs = [(s, render(s)) for s in (16, 32, 48)]
out = struct.pack('<HHH', 0, 1, len(pngs))
offset = 6 + 16 * len(pngs)
for s, p in pngs:
    out += struct.pack('<BBBBHHII', s, s, 0, 0, 1, 32, len(p), offset); offset += len(p)
out += b''.join(p for _, p in pngs)
open(sys.argv[1], 'wb').write(out)
