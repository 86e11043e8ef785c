"""Simulated fagsystem traffic for the FSM programme, calibrated to seeds/004.

    from kommunepuls.simulator import SimConfig, generate
    for emission in generate(SimConfig(seed=1, citizens=2_000)):
        send(emission.envelope)   # at emission.emit_at, in simulated time
"""

from kommunepuls.simulator.emission import Emission
from kommunepuls.simulator.generator import SimConfig, count_citizens, generate
from kommunepuls.simulator.world import SimulatorError

__all__ = ["Emission", "SimConfig", "SimulatorError", "count_citizens", "generate"]
