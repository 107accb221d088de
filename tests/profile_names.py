#!/usr/bin/env python3
"""tests/profile_names.py TOP: reads `perf report --sort comm,dso,symbol
--stdio -g none` and prints, per process name, the share of each library
and the TOP symbols.  Unnamed addresses in a stripped libcrypto are named by
the instructions around them (objdump), so that AES and SHA-256 show as
such; AES entered for a single block (aesni_ctr32_encrypt_blocks' `cmp
$0x1,%rdx' path) is told apart from AES on many blocks at once."""
import collections
import re
import subprocess
import sys

TOP = int(sys.argv[1]) if len(sys.argv) > 1 else 15
LINE = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(\S.*?)\s*$")
ADDR = re.compile(r"^0x[0-9a-f]+$")
_libs = {}
_names = {}


def lib_path(dso):
    """The file behind a library name perf prints (libcrypto.so.3)."""
    if dso not in _libs:
        path = None
        try:
            out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                if line.strip().startswith(dso + " ") and "x86-64" in line:
                    path = line.split("=>")[-1].strip()
                    break
        except OSError:
            pass
        _libs[dso] = path
    return _libs[dso]


def insn_addr(line):
    """The address of an objdump -d instruction line, or None."""
    m = re.match(r"^\s*([0-9a-f]+):", line)
    return int(m.group(1), 16) if m else None


def one_block(out, a):
    """Whether a lies in aesni_ctr32_encrypt_blocks' one-block path: from
    its entry (endbr64; cmp $0x1,%rdx; jne MANY) up to MANY."""
    lines = [(insn_addr(l), l.split(":", 1)[1]) for l in out.splitlines() if insn_addr(l) is not None]
    for i, (addr, text) in enumerate(lines):
        if addr > a or "endbr64" not in text or i + 2 >= len(lines):
            continue
        if re.search(r"cmp\s+\$0x1,%rdx", lines[i + 1][1]):
            m = re.search(r"jne\s+([0-9a-f]+)", lines[i + 2][1])
            if m and a < int(m.group(1), 16):
                return True
    return False


def name_addr(dso, addr):
    """A name for an unnamed address from the instructions near it."""
    key = (dso, addr)
    if key in _names:
        return _names[key]
    name = addr
    path = lib_path(dso)
    if path:
        a = int(addr, 16)
        try:
            out = subprocess.run(["objdump", "-d", "--no-show-raw-insn",
                                  "--start-address=%#x" % max(a - 256, 0),
                                  "--stop-address=%#x" % (a + 64), path],
                                 capture_output=True, text=True).stdout
        except OSError:
            out = ""
        near = "\n".join(l for l in out.splitlines() if insn_addr(l) is not None and abs(insn_addr(l) - a) <= 64)
        if "sha256rnds2" in near or "sha256msg" in near:
            name = "SHA-256 (SHA-NI)"
        elif "sha1rnds4" in near:
            name = "SHA-1 (SHA-NI)"
        elif "aesenc" in near or "aesdec" in near:
            name = "AES, one block per call" if one_block(out, a) else "AES, many blocks per call"
        elif "pclmul" in near:
            name = "GHASH (pclmul)"
        else:
            name = "%s+%s (unnamed)" % (dso, addr)
    _names[key] = name
    return name


def main():
    by_comm_dso = collections.defaultdict(float)
    by_sym = collections.defaultdict(float)
    comms = collections.defaultdict(float)
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        pct, comm, dso = float(m.group(1)), m.group(2), m.group(3)
        sym = re.sub(r"(\s+-)+$", "", m.group(4))
        if ADDR.match(sym) and dso.startswith("lib"):
            sym = name_addr(dso, sym)
        comms[comm] += pct
        by_comm_dso[(comm, dso)] += pct
        by_sym[(comm, dso, sym)] += pct
    for comm, total in sorted(comms.items(), key=lambda kv: -kv[1]):
        parts = sorted(((p, d) for (c, d), p in by_comm_dso.items() if c == comm), reverse=True)
        print("%5.1f%% %s: %s" % (total, comm, ", ".join("%s %.1f%%" % (d, p) for p, d in parts if p >= 0.5)))
    print("top %d symbols (process, library, symbol):" % TOP)
    for (comm, dso, sym), pct in sorted(by_sym.items(), key=lambda kv: -kv[1])[:TOP]:
        print("  %5.1f%%  %-12s %-18s %s" % (pct, comm, dso, sym))


main()
