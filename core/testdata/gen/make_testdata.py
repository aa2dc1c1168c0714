#!/usr/bin/python3
"""Writes the test images of core/testdata (Python standard library only).

Run after make_jpeg.c has written base.jpg and progressive.jpg:
    /usr/bin/python3 make_testdata.py ..

Every metadata block is inserted into a metadata-free base file, so that
stripping a *_meta file must give back its base file byte for byte.
The identifying strings (serial number, names, places) are fake.
"""
import struct
import sys
import zlib

SERIAL = b"SN-4242-TRACEME"
CREATOR = b"Inspector Jane Q. Realname"


def tiff_exif():
    """A big-endian TIFF with IFD0 (Make, Model), an Exif IFD with
    BodySerialNumber and DateTimeOriginal, and a GPS IFD."""
    # Each IFD: list of (tag, type, count, value bytes). Offsets are laid out
    # after the three IFDs.
    def ascii(s):
        return (2, len(s) + 1, s + b"\0")

    def rationals(pairs):
        return (5, len(pairs), b"".join(struct.pack(">II", n, d) for n, d in pairs))

    ifd0 = [(0x010F, *ascii(b"FieldCam")), (0x0110, *ascii(b"FC-1 Pro")),
            (0x8769, 4, 1, None), (0x8825, 4, 1, None)]
    exif = [(0x9003, *ascii(b"2026:09:02 14:03:27")), (0xA431, *ascii(SERIAL))]
    gps = [(0x0000, 1, 4, b"\x02\x03\x00\x00"), (0x0001, *ascii(b"N")),
           (0x0002, *rationals([(39, 1), (54, 1), (2712, 100)])),
           (0x0003, *ascii(b"E")),
           (0x0004, *rationals([(116, 1), (23, 1), (4471, 100)]))]

    def ifd_size(ifd):
        return 2 + 12 * len(ifd) + 4

    ifd0_off = 8
    exif_off = ifd0_off + ifd_size(ifd0)
    gps_off = exif_off + ifd_size(exif)
    data_off = gps_off + ifd_size(gps)
    ifd0[2] = (0x8769, 4, 1, struct.pack(">I", exif_off))
    ifd0[3] = (0x8825, 4, 1, struct.pack(">I", gps_off))

    out = bytearray(b"MM\x00\x2a" + struct.pack(">I", ifd0_off))
    extra = bytearray()
    for ifd in (ifd0, exif, gps):
        out += struct.pack(">H", len(ifd))
        for tag, typ, count, value in ifd:
            if len(value) <= 4:
                field = value.ljust(4, b"\0")
            else:
                field = struct.pack(">I", data_off + len(extra))
                extra += value
                if len(extra) % 2:
                    extra += b"\0"
            out += struct.pack(">HHI", tag, typ, count) + field
        out += struct.pack(">I", 0)
    return bytes(out + extra)


XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
       b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
       b'exif:GPSLatitude="39,54.452N" exif:GPSLongitude="116,23.745E">'
       b"<dc:creator><rdf:Seq><rdf:li>" + CREATOR +
       b"</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF>"
       b'</x:xmpmeta><?xpacket end="w"?>')


def iptc():
    """Photoshop 3.0 image resource block 0x0404 holding IPTC-IIM records."""
    def dataset(number, value):
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    records = (dataset(80, CREATOR) + dataset(90, b"Springfield") +
               dataset(120, b"Window 3 closed at 14:00, staff absent"))
    block = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0"  # empty name, padded
    block += struct.pack(">I", len(records)) + records
    if len(records) % 2:
        block += b"\0"
    return b"Photoshop 3.0\0" + block


def segment(marker, payload):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_segments(data):
    """(offset, marker) of each marker in a well-formed JPEG, scans included."""
    out, i = [], 2
    while True:
        marker = data[i + 1]
        out.append((i, marker))
        if marker == 0xD9:
            return out
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:
            while not (data[i] == 0xFF and data[i + 1] not in
                       (0x00, *range(0xD0, 0xD8))):
                i += 1


def insert(data, offset, block):
    return data[:offset] + block + data[offset:]


def make_jpegs(d):
    exif_seg = segment(0xE1, b"Exif\0\0" + tiff_exif())
    xmp_seg = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + XMP)
    iptc_seg = segment(0xED, iptc())
    com_seg = segment(0xFE, b"Taken by inspector 17 (" + CREATOR + b")")

    base = open(f"{d}/base.jpg", "rb").read()
    segs = jpeg_segments(base)
    after_app0 = segs[1][0] + 2 + struct.unpack(">H", base[segs[1][0] + 2:segs[1][0] + 4])[0]
    eoi = segs[-1][0]
    meta = insert(base, eoi, com_seg)  # after the entropy-coded data
    meta = insert(meta, after_app0, exif_seg + xmp_seg + iptc_seg + com_seg)
    open(f"{d}/meta.jpg", "wb").write(meta)

    prog = open(f"{d}/progressive.jpg", "rb").read()
    segs = jpeg_segments(prog)
    sos = [off for off, m in segs if m == 0xDA]
    # Between the first and the second scan: before the DHT or SOS that
    # follows the first scan's entropy-coded data.
    first_after_scan = next(off for off, m in segs if off > sos[0])
    after_app0 = segs[1][0] + 2 + struct.unpack(">H", prog[segs[1][0] + 2:segs[1][0] + 4])[0]
    meta = insert(prog, first_after_scan, xmp_seg + com_seg)
    meta = insert(meta, after_app0, exif_seg + b"\xff\xff" + iptc_seg)  # fill bytes
    open(f"{d}/progressive_meta.jpg", "wb").write(meta)


def chunk(kind, payload):
    return (struct.pack(">I", len(payload)) + kind + payload +
            struct.pack(">I", zlib.crc32(kind + payload)))


def make_pngs(d):
    w = h = 8
    raw = b"".join(b"\0" + bytes(v for x in range(w)
                                  for v in (x * 32, y * 32, (x ^ y) * 32))
                   for y in range(h))
    idat = zlib.compress(raw, 9)
    half = len(idat) // 2
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    phys = chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    idats = chunk(b"IDAT", idat[:half]) + chunk(b"IDAT", idat[half:])
    iend = chunk(b"IEND", b"")
    sig = b"\x89PNG\r\n\x1a\n"
    open(f"{d}/base.png", "wb").write(sig + ihdr + phys + idats + iend)

    text = chunk(b"tEXt", b"Author\0" + CREATOR)
    itxt = chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + XMP)
    ztxt = chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"Serial " + SERIAL))
    exif = chunk(b"eXIf", tiff_exif())
    time = chunk(b"tIME", struct.pack(">HBBBBB", 2026, 9, 2, 14, 3, 27))
    late = chunk(b"tEXt", b"Location\0Springfield town hall")
    meta = (sig + ihdr + exif + text + phys + itxt + ztxt + time + idats +
            late + iend)
    open(f"{d}/meta.png", "wb").write(meta)


if __name__ == "__main__":
    out_dir = sys.argv[1] if len(sys.argv) > 1 else ".."
    make_jpegs(out_dir)
    make_pngs(out_dir)
