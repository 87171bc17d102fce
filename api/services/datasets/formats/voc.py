"""Pascal VOC: Annotations/*.xml (one per image, boxes by corner), JPEGImages/, and
ImageSets/Main/{train,val,test}.txt naming each split's images.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import PurePosixPath
from typing import Any

from api.services.datasets.formats.base import DraftImage, Parsed, Source, box_problem
from api.services.datasets.images import is_image_name
from api.services.datasets.problems import quote, shorten
from contract.manifest import Annotation


def _xmls(files: list[str]) -> list[str]:
    return sorted(f for f in files if f.endswith(".xml") and "Annotations/" in f"/{f}")


def looks_like(files: list[str], read_text: Any) -> str | None:
    xmls = _xmls(files)
    if xmls:
        has_jpeg = any("JPEGImages/" in f"/{f}" for f in files)
        return f"{len(xmls)} XML files under Annotations/" + (
            " with JPEGImages/" if has_jpeg else ""
        )
    return None


def _root_of(xml_file: str) -> PurePosixPath:
    parts = xml_file.split("/")
    return (
        PurePosixPath(*parts[: parts.index("Annotations")])
        if parts.index("Annotations")
        else PurePosixPath(".")
    )


def _size(width: str, height: str) -> tuple[int, int] | None:
    """<size>'s width and height as whole pixels, None when they are not numbers."""
    try:
        return int(float(width)), int(float(height))
    except (ValueError, OverflowError):  # words, nan, inf
        return None


def parse(src: Source) -> Parsed:
    problems = src.problems
    files = set(src.files)
    xmls = _xmls(src.files)
    used = set(xmls)
    records: list[tuple[str, str, list[tuple[str, tuple[float, float, float, float]]]]] = []
    for xml_file in xmls:
        text = src.read_text(xml_file)  # type: ignore[operator]
        if "<!DOCTYPE" in text:
            # Entities live in a DTD: 443 bytes of them can make a 7 MB class name.
            # VOC files have none.
            problems.add(
                xml_file, "has a DTD (<!DOCTYPE>): VOC annotations need none", code="bad_label"
            )
            continue
        try:
            tree = ET.fromstring(text)
        except ET.ParseError as exc:
            problems.add(xml_file, f"not valid XML: {exc}", code="bad_label")
            continue
        root = _root_of(xml_file)
        filename = (tree.findtext("filename") or "").strip()
        stem = PurePosixPath(xml_file).stem
        candidates = [str(root / "JPEGImages" / filename)] if filename else []
        candidates += [str(root / "JPEGImages" / f"{stem}{s}") for s in (".jpg", ".jpeg", ".png")]
        image = next(
            (c.removeprefix("./") for c in candidates if c.removeprefix("./") in files), None
        )
        if image is None:
            problems.add(
                xml_file,
                f"its image {quote(filename or stem)} is not in JPEGImages/",
                code="missing_image",
            )
            continue
        info = src.images.get(image)
        if info is None:
            continue
        w, h = tree.findtext("size/width"), tree.findtext("size/height")
        if w and h and _size(w, h) not in ((info.width, info.height), (0, 0)):
            problems.add(
                xml_file,
                f"says {shorten(w.strip(), 20)}x{shorten(h.strip(), 20)} but {image} is "
                f"{info.width}x{info.height}",
                code="size_mismatch",
            )
            continue
        objects = []
        for n, obj in enumerate(tree.findall("object"), start=1):
            where = f"object {n}"
            name = (obj.findtext("name") or "").strip()
            try:
                x1, y1, x2, y2 = (
                    float(obj.findtext(f"bndbox/{k}") or "")
                    for k in ("xmin", "ymin", "xmax", "ymax")
                )
            except ValueError:
                problems.add(
                    xml_file, "bndbox needs numeric xmin, ymin, xmax, ymax", where, code="bad_label"
                )
                continue
            if not name:
                problems.add(xml_file, "object without a name", where, code="bad_label")
                continue
            bbox = (x1, y1, x2 - x1, y2 - y1)
            why = box_problem(bbox, info)
            if why:
                problems.add(xml_file, why, where, code="box_outside_image")
                continue
            objects.append((name, bbox))
        records.append((xml_file, image, objects))

    # Splits from ImageSets/Main/<split>.txt (ids are file stems).
    # trainval.txt is only the union of the two: its images not in train or val are left
    # to the split policy.
    split_of: dict[str, str] = {}
    for f in src.files:
        p = PurePosixPath(f)
        if p.parent.name == "Main" and p.parent.parent.name == "ImageSets":
            used.add(f)
            if p.stem in ("train", "val", "test"):
                for line in src.read_text(f).splitlines():  # type: ignore[operator]
                    if line.split():
                        split_of[line.split()[0]] = p.stem

    classes = sorted({name for _, _, objs in records for name, _ in objs})
    index = {c: i for i, c in enumerate(classes)}
    images = [
        DraftImage(
            path=image,
            split=split_of.get(PurePosixPath(image).stem),
            annotations=[Annotation(class_id=index[name], bbox=bbox) for name, bbox in objs],
        )
        for _, image, objs in records
    ]
    for f in src.files:
        if f not in used and not is_image_name(f) and not f.endswith(".txt"):
            problems.add(f, "neither an image nor a Pascal VOC annotation", code="non_image_file")
    return Parsed(task_type="object_detection", classes=classes, images=images, used_files=used)
