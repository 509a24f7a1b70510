"""Draw the two sample images the demo configuration uses (config/demo.toml, [branding]):

- eu-emblem.png: the European flag drawn to its published geometry (a 3:2 blue rectangle,
  twelve upright five-pointed gold stars on a circle whose radius is a third of the height,
  at the hour positions of a clock; each star's points on a circle of 1/18 of the height;
  Reflex Blue #003399 and Yellow #FFCC00). A real publication should use the artwork the
  European Commission distributes: see docs/templates.md.
- programme-logo-placeholder.png: a marked placeholder, never a real programme logo.

    .venv/bin/python examples/branding/make_sample_logos.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
BLUE, YELLOW = (0x00, 0x33, 0x99), (0xFF, 0xCC, 0x00)


def star(cx: float, cy: float, outer: float) -> list[tuple[float, float]]:
    """An upright five-pointed star: its points on a circle of radius `outer`."""
    inner = outer * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = math.radians(-90 + 36 * k)  # the first point straight up
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def eu_flag(height: int = 600) -> Image.Image:
    width = height * 3 // 2
    image = Image.new("RGB", (width, height), BLUE)
    draw = ImageDraw.Draw(image)
    cx, cy = width / 2, height / 2
    for hour in range(12):
        angle = math.radians(30 * hour - 90)
        x, y = cx + height / 3 * math.cos(angle), cy + height / 3 * math.sin(angle)
        draw.polygon(star(x, y, height / 18), fill=YELLOW)
    return image


def placeholder_logo(width: int = 900, height: int = 300) -> Image.Image:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    grey = (0x8A, 0x94, 0xA6)
    for x in range(0, width, 24):  # a dashed frame
        draw.line([(x, 3), (x + 12, 3)], fill=grey, width=6)
        draw.line([(x, height - 4), (x + 12, height - 4)], fill=grey, width=6)
    for y in range(0, height, 24):
        draw.line([(3, y), (3, y + 12)], fill=grey, width=6)
        draw.line([(width - 4, y), (width - 4, y + 12)], fill=grey, width=6)
    big = ImageFont.load_default(size=64)
    small = ImageFont.load_default(size=34)
    draw.text((width / 2, height * 0.4), "PROGRAMME LOGO", font=big, fill=BLUE, anchor="mm")
    draw.text(
        (width / 2, height * 0.72), "placeholder: replace before publishing", font=small,
        fill=grey, anchor="mm",
    )  # fmt: skip
    return image


def main() -> None:
    eu_flag().save(HERE / "eu-emblem.png", optimize=True)
    placeholder_logo().save(HERE / "programme-logo-placeholder.png", optimize=True)
    print(f"wrote {HERE / 'eu-emblem.png'} and {HERE / 'programme-logo-placeholder.png'}")


if __name__ == "__main__":
    main()
