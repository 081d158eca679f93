"""Decodes every QR code in an image file with zxing-cpp (an independent decoder, not the
Rust encoder under test) and prints each one's text on its own line.

Usage: python qr_decode.py IMAGE   (PNG, or anything Pillow opens)
Needs: zxing-cpp and Pillow (from PyPI; .ci/run installs them into .ci-venv).
"""
import sys

import zxingcpp
from PIL import Image


def main() -> int:
    image = Image.open(sys.argv[1]).convert("L")
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    for r in results:
        print(r.text)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
