"""Decompress every NNN-SIZE.lz77 / NNN-SIZE.huff file of a directory with dissect.util (an
independent implementation of [MS-XCA]) and write the result beside it as *.out.

Called by tests/dissect_cross_check.rs; exits 3 when dissect.util is not installed.

dissect.util's LZ77+Huffman decoder takes no expected size: it decodes while unread input
remains, so symbols already loaded into its 32-bit register when the input runs out are
dropped, and it reads the end-of-data symbol as a match. The stream is therefore given to it
with a few zero bytes of padding (the smallest that lets it produce SIZE bytes without
tripping over the padding); the caller compares only the first SIZE bytes.
"""
import pathlib
import sys

try:
    from dissect.util.compression import lzxpress, lzxpress_huffman
except ImportError:
    sys.exit(3)


def huffman(data: bytes, size: int) -> bytes:
    out = b""
    for pad in (0, 2, 4, 6, 8, 12, 16):
        try:
            out = lzxpress_huffman.decompress(data + bytes(pad))
        except (TypeError, ValueError, AttributeError):
            continue
        if len(out) >= size:
            return out
    return out


directory = pathlib.Path(sys.argv[1])
for path in sorted(directory.iterdir()):
    size = int(path.stem.split("-")[1]) if "-" in path.stem else 0
    if path.suffix == ".lz77":
        out = lzxpress.decompress(path.read_bytes())
    elif path.suffix == ".huff":
        out = huffman(path.read_bytes(), size)
    else:
        continue
    path.with_name(path.name + ".out").write_bytes(out)
