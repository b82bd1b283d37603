"""Command-line verbs ``explain`` (why same / why different?) and ``map`` (where faces live).

``register`` adds them to ``python -m facedemo``'s sub-commands, which also turns user
errors into one line on stderr; the options every command shares come from
``facedemo.commands.options``.
"""

from __future__ import annotations

import argparse
import json

from facedemo import faces, identify
from facedemo.commands.options import (
    add_engine_options,
    add_parallel_options,
    engine_from,
    finite_number,
    open_dataset,
    out_file,
    parallel_from,
    progress_bar,
    say_if_healed,
)
from facedemo.embeddings import EmbeddingStore
from facedemo.explain.occlusion import explain_photos
from facedemo.explain.picture import write_png
from facedemo.explain.space import METHODS, gallery_map


def _explain(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    result = explain_photos(
        args.img1,
        args.img2,
        engine,
        face_indices=(args.face1, args.face2),
        enforce_detection=not args.no_enforce_detection,
    )
    if args.out:
        write_png(result, args.out)
    if args.json:
        print(json.dumps(result.as_dict() | {"out": str(args.out) if args.out else None}, indent=2))
        return 0
    check = result.deletion_check
    grid = result.grid
    print(f"distance {result.distance:.4f} ({engine.label})")
    print(
        f"grid {grid['coarse']}×{grid['coarse']} coarse, {grid['fine']}×{grid['fine']} fine "
        f"({len(result.refined)} cells refined): {result.passes} passes in {result.seconds:.2f} s"
    )
    for name, face_map in zip(("face 1", "face 2"), result.maps, strict=True):
        print(f"{name} (distance change when a cell is greyed; + pulled together, - pushed apart):")
        for row in face_map:
            print("  " + " ".join(f"{value:+.4f}" for value in row))
    print(
        f"deletion check: top {check.share:.0%} of cells {check.top:+.4f}, random sets "
        f"{check.random:+.4f} ({'passed' if check.passed else 'failed'})"
    )
    print(check.sentence())
    if args.out:
        print(f"map written to {args.out}")
    return 0


def _map(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    probe = None
    if args.probe:  # a bad photo fails before the gallery is embedded
        photo = faces.analyse_photo(args.probe, engine, not args.no_enforce_detection)
        probe = photo.embeddings[faces.pick_face(args.face, len(photo.faces))]
    dataset = open_dataset(args.gallery)
    store = EmbeddingStore()
    gallery = identify.build_gallery(dataset, engine, store, progress_bar, **parallel_from(args))
    say_if_healed(store)
    row = gallery.row_of(args.probe) if args.probe else None
    if row is not None:  # the probe's own photo is not its own neighbour
        gallery = gallery.without([row])
    result = gallery_map(gallery, engine, args.method, probe, args.threshold, seed=args.seed)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    print(f"{len(result)} photos of {len(set(result.people))} people ({engine.label})")
    print(result.caption())
    if probe is not None:
        print(
            f"probe at ({result.probe[0]:.3f}, {result.probe[1]:.3f}); nearest on the map: "
            + ", ".join(result.nearest_people())
        )
    print(f"{'x':>9} {'y':>9}  {'person':<24}file")
    for x, y, file, person in zip(result.x, result.y, result.files, result.people, strict=True):
        print(f"{x:>9.3f} {y:>9.3f}  {person:<24}{file}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``explain`` and ``map`` to an argparse sub-command set."""
    parser = subparsers.add_parser(
        "explain", help="why same or why different? an occlusion map of two faces"
    )
    parser.add_argument("img1", help="first photo (path)")
    parser.add_argument("img2", help="second photo (path)")
    add_engine_options(parser)
    parser.add_argument("--face1", type=int, default=None, help="face index in img1 (0 = largest)")
    parser.add_argument("--face2", type=int, default=None, help="face index in img2 (0 = largest)")
    parser.add_argument(
        "--no-enforce-detection",
        action="store_true",
        help="use the whole photo when no face is found",
    )
    parser.add_argument(
        "--out", type=out_file("map.png", ".png"), help="write the map over the faces as a PNG"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_explain)

    parser = subparsers.add_parser(
        "map", help="where faces live: a gallery's embeddings in two dimensions"
    )
    parser.add_argument(
        "gallery",
        help="a folder (identities.csv, one folder per person or LFW names), a .zip, "
        "'demo' or 'lfw'",
    )
    add_engine_options(parser)
    add_parallel_options(parser)
    parser.add_argument(
        "--method", choices=METHODS, default=METHODS[0], help="projection (default %(default)s)"
    )
    parser.add_argument("--probe", help="a photo to place on the map (its largest face)")
    parser.add_argument("--face", type=int, default=None, help="face index in the probe")
    parser.add_argument(
        "--threshold",
        type=finite_number,
        default=None,
        help="mark the photos within this distance of the probe (default: the model's)",
    )
    parser.add_argument(
        "--no-enforce-detection",
        action="store_true",
        help="use the whole probe photo when no face is found in it",
    )
    parser.add_argument("--seed", type=int, default=0, help="t-SNE's seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_map)
