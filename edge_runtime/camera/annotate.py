"""Draw face boxes and their scores on a grayscale frame, for saved evidence pictures."""
from __future__ import annotations

from typing import Sequence, Tuple

import cv2
import numpy as np

from ..boxes import Box
from ..results import Verdict

#: Box colours (BGR) by verdict; any other verdict is drawn white.
COLORS = {Verdict.REAL: (0, 170, 0), Verdict.FAKE: (0, 0, 230), Verdict.UNCERTAIN: (0, 160, 255)}


def annotate(gray: np.ndarray, faces: Sequence[Tuple[Box, Verdict, str]]) -> np.ndarray:
    """A BGR copy of ``gray`` with each face's box and label drawn; ``faces`` holds (box, verdict, label)."""
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    thick = max(1, round(max(gray.shape) / 400))
    for box, verdict, label in faces:
        color = COLORS.get(verdict, (255, 255, 255))
        cv2.rectangle(img, (box.x, box.y), (box.x + box.w, box.y + box.h), color, thick)
        scale = 0.4 * thick
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        y = box.y - 4 if box.y - th - 4 >= 0 else box.y + box.h + th + 4
        cv2.rectangle(img, (box.x, y - th - 2), (box.x + tw + 2, y + base), color, -1)
        cv2.putText(img, label, (box.x + 1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return img
