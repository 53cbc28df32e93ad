"""The Agora simulator: uploads screenshots and delivers callbacks by Agora's rules."""

from shotline.errors import UploadError
from shotline.simulate.delivery import Attempt, Courier, Delivery
from shotline.simulate.engine import Simulator
from shotline.simulate.jpeg import jpeg_bytes
from shotline.simulate.plan import Kind, Planner, Screenshot, channel_names
from shotline.simulate.settings import FaultRates, SimulateSettings
from shotline.simulate.stats import Stats
from shotline.simulate.upload import ObjectStore, S3Store

__all__ = [
    "Attempt",
    "Courier",
    "Delivery",
    "FaultRates",
    "Kind",
    "ObjectStore",
    "Planner",
    "S3Store",
    "Screenshot",
    "SimulateSettings",
    "Simulator",
    "Stats",
    "UploadError",
    "channel_names",
    "jpeg_bytes",
]
