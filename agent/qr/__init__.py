"""QR codes from a webcam: camera (the only cv2 importer), decoder (the only pyzbar importer),
CCCD / VNeID payload parsers and the scanning loop."""
