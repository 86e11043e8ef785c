"""Simulated fagsystem traffic for the FSM programme, calibrated to seeds/004.

Usage: ``for e in generate(SimConfig(seed=1, citizens=2_000)): send(e.envelope)``, each
envelope sent at ``e.emit_at`` in simulated time. `model.py` holds every calibrated number
with its source; `calibration.py` counts a run's shape to check it.
"""

from kommunepuls.simulator.emission import Emission
from kommunepuls.simulator.generator import SimConfig, count_citizens, generate
from kommunepuls.simulator.world import SimulatorError

__all__ = ["Emission", "SimConfig", "SimulatorError", "count_citizens", "generate"]
