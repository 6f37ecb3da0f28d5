"""``python -m simulators corpus``: write the seeded QR corpus (PNG frames and manifest.json), a
single card image, or a demo video in which a card comes, stays, leaves and comes back."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_SEED = 2024


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("corpus", help="write the seeded QR corpus, a card image or a demo video")
    parser.add_argument("--out", type=Path, required=True, help="a directory (corpus) or a .png / .avi file")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=50, help="frames per tier and size (corpus)")
    parser.add_argument("--tiers", default="normal,hard,empty",
                        help="comma-separated: normal, hard, empty, fixed-focus (1280x720 is its size)")
    parser.add_argument("--sizes", default="640x480,1280x720", help="comma-separated WxH")
    parser.add_argument("--index", type=int, default=0, help="which frame, for a single .png")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from simulators.camera import corpus, files

    sizes = [_size(text) for text in args.sizes.split(",") if text]
    tiers = [t for t in args.tiers.split(",") if t]
    out: Path = args.out
    if out.suffix.lower() == ".png":
        import cv2

        frame = corpus.make_frame(seed=args.seed, tier=tiers[0], size=sizes[0], index=args.index)
        cv2.imwrite(str(out), frame.image)
        print(f"{out}: {frame.name} {', '.join(frame.effects) or 'no extra effects'}")
        return 0
    if out.suffix.lower() == ".avi":
        script = [("empty", 20), ("card:0", 45), ("empty", 120), ("card:0", 30), ("card:1", 30), ("empty", 10)]
        frames, _texts = files.card_video(seed=args.seed, script=script, size=sizes[0])
        count = files.write_video(out, frames)
        print(f"{out}: {count} frames at 30 fps (card 0, away 4 s, card 0 again, card 1)")
        return 0
    manifest = corpus.write_corpus(corpus.generate(seed=args.seed, tiers=tiers, sizes=sizes, count=args.count), out)
    print(f"{manifest}: {len(tiers) * len(sizes) * args.count} frames")
    return 0


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, got {text!r}") from None
