"""QR codes from a webcam: camera (the only cv2 importer), decoder (the only pyzbar / zxing-cpp
importer), the CCCD / VNeID payload parsers, the scanning loop, and QR-then-tap (the chip's access
keys from a QR identity, and the QR-versus-chip cross-check)."""
