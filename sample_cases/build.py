"""Build the demo evidence folder from material this project may ship.

Everything here is generated, or a public-domain image that an installed package ships:
scikit-image's `astronaut` (NASA photograph of Eileen Collins) and matplotlib's
`grace_hopper.jpg` (US Navy photograph). It deliberately includes broken files (truncated
JPEG, zero-byte file, corrupt MP4, a decompression bomb, a symlink loop, a non-UTF-8 name,
a JPEG named .txt) and copies (one binary, one visual) so every path of ingest shows up.

Run `python -m sample_cases.build DEST` or `forensics demo`.
"""
from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
DEMO_CASE = HERE / "demo"
VERSION = "4"  # bump when the content changes so old evidence folders are rebuilt


def _exif(make: str, model: str, when: str, lat: float | None = None, lon: float | None = None,
          offset: str | None = None, alt: float | None = None) -> bytes:
    ex = Image.Exif()
    ex[0x010F] = make
    ex[0x0110] = model
    ex[0x0132] = when
    exif_ifd = {0x9003: when, 0x9004: when}
    if offset:  # OffsetTime, OffsetTimeOriginal (EXIF 2.31): the capture time is then an instant
        exif_ifd.update({0x9010: offset, 0x9011: offset})
    ex[0x8769] = exif_ifd
    if lat is not None and lon is not None:
        def dms(v: float) -> tuple:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60 * 100)
            return (Fraction(d, 1), Fraction(m, 1), Fraction(s, 100))
        gps = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
        if alt is not None:
            gps.update({5: b"\x00" if alt >= 0 else b"\x01", 6: Fraction(round(abs(alt) * 10), 10)})
        ex[0x8825] = gps
    return ex.tobytes()


# A trip through five time zones, for the map, place names and time zones: (file, picture,
# camera local time, its UTC offset or None when the camera wrote none, lat, lon, altitude).
# Pictures are scikit-image's CC0 / public-domain samples or generated scenes.
TRIP = [
    ("paris_eiffel_tower.jpg", "coffee", "2024:06:10 09:15:02", "+02:00", 48.85826, 2.29450, 35.0),
    ("paris_louvre.jpg", 60, "2024:06:10 14:40:11", "+02:00", 48.86061, 2.33764, None),
    ("paris_cafe.jpg", "chelsea", "2024:06:11 08:02:45", "+02:00", 48.85302, 2.34990, None),
    ("tokyo_shibuya.jpg", 61, "2024:07:02 20:05:00", "+09:00", 35.65952, 139.70053, None),
    ("tokyo_tower.jpg", 62, "2024:07:03 10:30:00", None, 35.65858, 139.74543, None),
    ("nyc_times_square.jpg", 63, "2024:08:15 18:20:00", "-04:00", 40.75800, -73.98550, None),
    ("nyc_brooklyn_bridge.jpg", 64, "2024:08:16 07:45:00", None, 40.70610, -73.99690, None),
    ("sydney_opera_house.jpg", 65, "2024:09:20 12:00:00", "+10:00", -33.85678, 151.21530, None),
    ("cape_town_harbour.jpg", 66, "2024:10:05 16:10:00", "+02:00", -33.90360, 18.42080, None),
    ("boca_chica_launch.jpg", "rocket", "2024:10:13 07:25:00", "-05:00", 25.99710, -97.15540, 5.0),
]


def _trip_picture(which: str | int) -> Image.Image:
    if isinstance(which, int):
        return _scene(which, (640, 480))
    from skimage import data

    return Image.fromarray(getattr(data, which)())


def _gps_photos(folder: Path) -> None:
    """GPS-tagged photos of the trip, EXIF (with the GPS IFD) written here by Pillow."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, pic, when, offset, lat, lon, alt in TRIP:
        exif = _exif("Google", "Pixel 7", when, lat, lon, offset=offset, alt=alt)
        (folder / name).write_bytes(_jpeg(_trip_picture(pic), 85, exif))


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def grace_hopper_bytes() -> bytes:
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return f.read()


def _scene(seed: int, size=(800, 600)) -> Image.Image:
    """A generated 'photo': gradient sky, ground, random shapes. Distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    arr = (top * (1 - y) + bottom * y).repeat(w, axis=1).astype(np.uint8)
    im = Image.fromarray(arr)
    d = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w - 50)), int(rng.integers(0, h - 50))
        x1, y1 = x0 + int(rng.integers(30, 300)), y0 + int(rng.integers(30, 250))
        col = tuple(int(c) for c in rng.integers(0, 255, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x1, y1], fill=col)
    return im


def _bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A valid 1-bit PNG of width x height that is only a few hundred KB on disk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def _video(path: Path, face: Image.Image, seconds: float = 4.0, fps: int = 25) -> None:
    """A short H.264 clip: the astronaut photo pans across a generated background."""
    import av

    w, h = 640, 360
    bg = _scene(99, (w, h))
    f = face.resize((300, 300))
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.options = {"crf": "26", "preset": "veryfast"}
        n = int(seconds * fps)
        for i in range(n):
            canvas = bg.copy()
            if i < n * 0.75:  # the face leaves the picture for the last second
                canvas.paste(f, (int(20 + i * 2.5), 30))
            for pkt in st.encode(av.VideoFrame.from_image(canvas)):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)


def _jpeg(im: Image.Image, quality: int = 90, exif: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality, exif=exif or b"")
    return buf.getvalue()


def build_sample_evidence(dest: Path) -> Path:
    """Create (or reuse) the demo evidence folder at `dest`; returns it."""
    dest = Path(dest)
    marker = dest.parent / f".{dest.name}.sample-version"  # beside, not inside: it is not evidence
    if marker.exists() and marker.read_text() == VERSION:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    phone = dest / "phone_dump" / "DCIM"
    disk = dest / "laptop_disk" / "Users" / "suspect"
    cctv = dest / "cctv_archive"
    broken = dest / "laptop_disk" / "damaged"
    for d in (phone, disk / "Pictures", disk / "Downloads", cctv, broken):
        d.mkdir(parents=True, exist_ok=True)

    astro = astronaut()
    (phone / "IMG_0001.jpg").write_bytes(_jpeg(astro, 92, _exif("Apple", "iPhone 12", "2024:03:14 09:26:53", 28.5729, -80.6490)))
    hopper = grace_hopper_bytes()
    (phone / "IMG_0002.jpg").write_bytes(hopper)
    (disk / "Pictures" / "hopper_copy.jpg").write_bytes(hopper)  # binary copy
    small = Image.open(io.BytesIO(hopper))
    small = small.resize((small.width // 2, small.height // 2), Image.Resampling.LANCZOS)
    (disk / "Downloads" / "hopper_small.jpg").write_bytes(_jpeg(small, 70))  # visual copy
    for i in range(6):
        (phone / f"IMG_{i + 10:04d}.jpg").write_bytes(
            _jpeg(_scene(i), 88, _exif("Samsung", "SM-G991B", f"2024:05:{i + 1:02d} 1{i}:00:00", 51.5 + i / 100, -0.12)))
    _scene(20).save(disk / "Pictures" / "diagram.png")
    rgba = _scene(21).convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 128))
    rgba.save(disk / "Pictures" / "transparent.png")
    _scene(22).save(disk / "Pictures" / "scan.tiff")
    _scene(23).save(disk / "Pictures" / "old.bmp")
    _scene(24).save(disk / "Pictures" / "web.webp", quality=80)
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        astro.save(phone / "IMG_0003.heic", quality=80)
    except Exception as exc:  # pragma: no cover - HEIC encoder missing
        print(f"note: no HEIC sample ({exc})", file=sys.stderr)
    frames = [_scene(30 + i, (160, 120)) for i in range(8)]
    frames[0].save(disk / "Downloads" / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (disk / "Downloads" / "invoice.txt").write_bytes(_jpeg(_scene(40), 85))  # a JPEG named .txt
    (disk / "Downloads" / "notes.txt").write_text("meeting friday 10:00\n")
    Image.new("RGB", (640, 480), (250, 250, 250)).save(disk / "Pictures" / "blank.png")
    _video(cctv / "camera1_2024-05-01.mp4", astro)
    _gps_photos(dest / "phone_dump" / "Pictures" / "Trip")

    good = _jpeg(_scene(50), 90)
    (broken / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048))
    (broken / "bomb.png").write_bytes(_bomb_png())
    # A receiver without a fix writes 0, 0 ("null island"): flagged, never placed on the map.
    (broken / "gps_no_fix.jpg").write_bytes(_jpeg(_scene(52, (320, 240)), 85,
                                                  _exif("Google", "Pixel 7", "2024:06:10 09:00:00", 0.0, 0.0)))
    (broken / "caf\xe9.jpg".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(_jpeg(_scene(51), 85))
    loop = broken / "loop"
    if not loop.is_symlink():
        os.symlink(".", loop)
    marker.write_text(VERSION)
    return dest


if __name__ == "__main__":
    out = build_sample_evidence(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "evidence")
    print(out)
